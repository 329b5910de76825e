"""``/api/v1/identity-providers``: the OpenID Connect providers an organization's
patients may sign through (shared/API.md "Identity providers")."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from medsign.identity import service
from medsign.identity.schemas import (
    ProviderCreated,
    ProviderIn,
    ProviderList,
    ProviderOut,
    ProviderPatch,
)
from medsign.web.deps import org_transaction, runtime
from medsign.web.idp_http import idp_http

router = APIRouter(prefix="/api/v1/identity-providers", tags=["identity providers"])


@router.post("", status_code=201, response_model=ProviderCreated)
def create(request: Request, body: ProviderIn) -> ProviderCreated:
    """Register a provider: its discovery document is fetched from
    ``{issuer}/.well-known/openid-configuration`` and checked (422 when it is missing or
    names another issuer). The answer holds the ``redirect_uri`` to register at the
    provider. The client secret is stored encrypted and never shown again."""
    rt = runtime(request)
    with org_transaction(request) as (_session, _org_id):
        pass  # authenticate before calling out to the provider
    discovery = service.discover_provider(
        idp_http(request), body, allow_http=rt.settings.idp_allow_http
    )
    with org_transaction(request) as (session, org_id):
        provider = service.register_provider(
            session, rt.keyring, org_id, body, discovery, now=rt.clock()
        )
        return ProviderCreated(
            id=provider.id,
            redirect_uri=service.redirect_uri(rt.settings.public_url, provider.id),
        )


@router.get("", response_model=ProviderList)
def list_all(request: Request) -> ProviderList:
    """Every provider of the organization."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        return ProviderList(
            items=[
                service.provider_out(p, rt.settings.public_url)
                for p in service.list_providers(session, org_id)
            ]
        )


@router.get("/{provider_id}", response_model=ProviderOut)
def read(request: Request, provider_id: str) -> ProviderOut:
    """One provider (404 for another organization's)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        provider = service.get_provider(session, org_id, provider_id)
        return service.provider_out(provider, rt.settings.public_url)


@router.patch("/{provider_id}", response_model=ProviderOut)
def update(request: Request, provider_id: str, body: ProviderPatch) -> ProviderOut:
    """Change a provider: ``cabinet_login`` offers it (or stops offering it) for logging
    in to the patient cabinet (404 for another organization's)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        provider = service.get_provider(session, org_id, provider_id)
        if body.cabinet_login is not None:
            service.set_cabinet_login(
                session, org_id, provider_id, body.cabinet_login, now=rt.clock()
            )
        return service.provider_out(provider, rt.settings.public_url)


@router.delete("/{provider_id}", status_code=204, response_class=Response)
def disable(request: Request, provider_id: str) -> Response:
    """Stop offering the provider; signers who would log in there are told so."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        service.disable_provider(session, org_id, provider_id, now=rt.clock())
    return Response(status_code=204)
