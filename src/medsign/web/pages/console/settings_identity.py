"""Settings: the organization's identity providers (add, list with their redirect URI,
disable, offer for cabinet login), through :mod:`medsign.identity.service` as
``/api/v1/identity-providers`` does. OpenID Connect providers only; ESIA's GOST
certificates are registered over the API or ``medsign idp``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from medsign.identity import service
from medsign.identity.schemas import ProviderIn
from medsign.staff.schemas import Actor
from medsign.web.deps import runtime
from medsign.web.idp_http import idp_http
from medsign.web.pages.console.session import answer
from medsign.web.pages.console.settings_forms import (
    BASE,
    parsed,
    settings_form,
    settings_page,
    settings_read,
)

router = APIRouter(prefix=f"{BASE}/identity-providers", include_in_schema=False)
HERE = f"{BASE}/identity-providers"


def _page(
    request: Request,
    *,
    status_code: int = 200,
    error: str = "",
    typed: dict[str, str] | None = None,
) -> Response:
    rt = runtime(request)

    def run() -> Response:
        with settings_read(request) as (session, actor):
            providers = [
                {
                    "id": p.id,
                    "name": p.name,
                    "issuer": p.issuer,
                    "client_id": p.client_id,
                    "kind": p.kind,
                    "redirect_uri": service.redirect_uri(rt.settings.public_url, p.id),
                    "disabled": p.disabled_at is not None,
                    "cabinet_login": p.cabinet_login,
                }
                for p in service.list_providers(session, actor.organization_id)
            ]
        return settings_page(
            request,
            "console/settings_identity.html",
            actor,
            status_code=status_code,
            providers=providers,
            error=error,
            typed=typed or {},
        )

    return answer(request, run)


@router.get("")
def providers(request: Request) -> Response:
    """The providers, each with the redirect URI to register at it, and the form to add one."""
    return _page(request)


@router.post("")
def add(
    request: Request,
    name: Annotated[str, Form(max_length=100)] = "",
    issuer: Annotated[str, Form(max_length=500)] = "",
    client_id: Annotated[str, Form(max_length=200)] = "",
    client_secret: Annotated[str, Form(max_length=2000)] = "",
    scopes: Annotated[str, Form(max_length=500)] = "openid profile",
    claim_name: Annotated[str, Form(max_length=100)] = "",
    claim_birth_date: Annotated[str, Form(max_length=100)] = "",
    claim_national_id: Annotated[str, Form(max_length=100)] = "",
    cabinet_login: Annotated[str, Form(max_length=10)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Register a provider: its discovery document is fetched first (outside the
    transaction); a refusal stays on the form with what was typed (the secret aside)."""
    rt = runtime(request)
    typed = {"name": name, "issuer": issuer, "client_id": client_id, "scopes": scopes}
    claims: dict[str, Any] = {
        key: value.strip()
        for key, value in (
            ("name", claim_name),
            ("birth_date", claim_birth_date),
            ("national_id", claim_national_id),
        )
        if value.strip()
    }
    found: dict[str, Any] = {}

    def discover() -> None:
        body = parsed(
            ProviderIn,
            {
                "name": name,
                "issuer": issuer,
                "client_id": client_id,
                "client_secret": client_secret or None,
                "scopes": scopes.split(),
                "claims": claims,
                "cabinet_login": cabinet_login == "on",
            },
        )
        found["body"] = body
        found["discovery"] = service.discover_provider(
            idp_http(request), body, allow_http=rt.settings.idp_allow_http
        )

    def work(session: Session, actor: Actor) -> str:
        provider = service.register_provider(
            session,
            rt.keyring,
            actor.organization_id,
            found["body"],
            found["discovery"],
            now=rt.clock(),
            actor=actor.audit_name,
        )
        return provider.id

    return settings_form(
        request,
        csrf,
        work,
        lambda _id: RedirectResponse(HERE, status_code=303),
        lambda status, message: _page(request, status_code=status, error=message, typed=typed),
        before=discover,
        org_only=True,
    )


@router.post("/{provider_id}/cabinet")
def cabinet(
    request: Request,
    provider_id: str,
    cabinet_login: Annotated[str, Form(max_length=10)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Offer a provider for logging in to the patient cabinet, or stop (the checkbox)."""
    rt = runtime(request)

    def work(session: Session, actor: Actor) -> None:
        service.set_cabinet_login(
            session,
            actor.organization_id,
            provider_id,
            cabinet_login == "on",
            now=rt.clock(),
            actor=actor.audit_name,
        )

    return settings_form(
        request,
        csrf,
        work,
        lambda _none: RedirectResponse(HERE, status_code=303),
        lambda status, message: _page(request, status_code=status, error=message),
        org_only=True,
    )


@router.post("/{provider_id}/disable")
def disable(
    request: Request, provider_id: str, csrf: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    """Stop offering a provider (signers who would log in there are told so)."""
    rt = runtime(request)

    def work(session: Session, actor: Actor) -> None:
        service.disable_provider(
            session, actor.organization_id, provider_id, now=rt.clock(), actor=actor.audit_name
        )

    return settings_form(
        request,
        csrf,
        work,
        lambda _none: RedirectResponse(HERE, status_code=303),
        lambda status, message: _page(request, status_code=status, error=message),
        org_only=True,
    )
