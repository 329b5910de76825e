"""Registering an organization's identity providers (the API and CLI side)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.db.base import new_id
from medsign.domain.tokens import Keyring
from medsign.errors import Conflict, InvalidInput, NotFound
from medsign.identity import esia, gost
from medsign.identity.models import IdentityProvider
from medsign.identity.protocol import Http, check_url, discover
from medsign.identity.schemas import ClaimsMap, EsiaIn, ProviderIn, ProviderOut
from medsign.identity.secretbox import open_secret, seal_secret

_SCOPE_CHARS = set(
    "!#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~"
)


def redirect_uri(public_url: str, provider_id: str) -> str:
    """Where the provider sends the patient back: one URI per provider, so an answer
    can never be taken for another provider's (RFC 9700 §4.4.2, mix-up attacks)."""
    return f"{public_url.rstrip('/')}/idp/callback/{provider_id}"


def discover_provider(http: Http, body: ProviderIn, *, allow_http: bool) -> dict[str, object]:
    """Check the issuer URL and scopes and fetch the discovery document (no database:
    called before the transaction so a slow provider holds no connection). ESIA has
    none: its endpoints follow from the base URL, and its certificates and key are
    checked instead."""
    check_url(body.issuer, allow_http=allow_http, field="issuer")
    for scope in body.scopes:
        # RFC 6749 §3.3: scope tokens are printable ASCII without spaces or quotes.
        if not scope or not set(scope) <= _SCOPE_CHARS or '"' in scope or "\\" in scope:
            raise InvalidInput(f"The scope {scope!r} is not a valid scope token.", field="scopes")
    if body.kind == "esia":
        assert body.esia is not None  # ProviderIn's validator
        check_esia(body.esia)
        return esia.endpoints(body.issuer)
    return discover(http, body.issuer, allow_http=allow_http)


def _esia_client(block: EsiaIn) -> esia.EsiaClient:
    return esia.EsiaClient(
        gost.Credential(block.client_certificate, block.client_private_key),
        block.provider_certificate,
    )


def check_esia(block: EsiaIn) -> None:
    """InvalidInput unless the certificates hold GOST R 34.10-2012 256-bit keys and
    the private key belongs to the client certificate."""
    try:
        gost.certificate_der(block.client_certificate)
    except gost.GostError as exc:
        field = "esia.client_certificate"
        raise InvalidInput(f"{field}: {exc}.", field=field) from None
    try:
        gost.certificate_der(block.provider_certificate)
    except gost.GostError as exc:
        field = "esia.provider_certificate"
        raise InvalidInput(f"{field}: {exc}.", field=field) from None
    try:
        esia.check_registration(_esia_client(block))
    except gost.GostError as exc:
        field = "esia.client_private_key"
        raise InvalidInput(f"{field}: {exc}.", field=field) from None


def _key_box(provider_id: str) -> str:
    """The associated data under which an ESIA private key is sealed (not the client
    secret's, so one cannot stand in for the other)."""
    return f"{provider_id}/esia-client-key"


def esia_client(keyring: Keyring, provider: IdentityProvider) -> esia.EsiaClient:
    """The ESIA provider's credential, its private key unsealed (ValueError if the
    deployment secret changed)."""
    assert provider.client_certificate and provider.client_key_enc
    assert provider.provider_certificate
    key = open_secret(keyring, _key_box(provider.id), provider.client_key_enc)
    return esia.EsiaClient(
        gost.Credential(provider.client_certificate, key), provider.provider_certificate
    )


def register_provider(
    session: Session,
    keyring: Keyring,
    organization_id: str,
    body: ProviderIn,
    discovery: dict[str, object],
    *,
    now: datetime,
    actor: str = "api",
) -> IdentityProvider:
    """Store a provider with its discovery document; the client secret (and an ESIA
    private key) encrypted."""
    provider_id = new_id()
    provider = IdentityProvider(
        id=provider_id,
        organization_id=organization_id,
        kind=body.kind,
        name=body.name,
        issuer=body.issuer,
        client_id=body.client_id,
        # ESIA has no client secret: its requests are signed with the GOST key.
        client_secret_enc=seal_secret(keyring, provider_id, body.client_secret or ""),
        scopes=list(dict.fromkeys(["openid", *body.scopes])),
        claims=body.claims.model_dump(exclude_none=True),
        discovery=dict(discovery),
        created_at=now,
        cabinet_login=body.cabinet_login,
    )
    if body.esia is not None:
        provider.client_certificate = body.esia.client_certificate
        provider.client_key_enc = seal_secret(
            keyring, _key_box(provider_id), body.esia.client_private_key
        )
        provider.provider_certificate = body.esia.provider_certificate
    session.add(provider)
    session.flush()
    record(
        session,
        organization_id,
        "identity_provider.created",
        at=now,
        actor=actor,
        data={
            "provider_id": provider.id,
            "kind": provider.kind,
            "issuer": provider.issuer,
            "name": provider.name,
            "cabinet_login": provider.cabinet_login,
        },
    )
    return provider


def get_provider(
    session: Session, organization_id: str, provider_id: str, *, lock: bool = False
) -> IdentityProvider:
    """The organization's provider, or NotFound (another organization's is not found);
    ``lock``: its row locked until the transaction ends (a change decided on what it
    reads, so two at once do not both decide it)."""
    provider = session.get(IdentityProvider, provider_id, with_for_update=lock or None)
    if provider is None or provider.organization_id != organization_id:
        raise NotFound(f"No identity provider {provider_id} in this organization.")
    return provider


def usable_provider(session: Session, organization_id: str, provider_id: str) -> IdentityProvider:
    """Like :func:`get_provider`, and not disabled (Conflict)."""
    provider = get_provider(session, organization_id, provider_id)
    if provider.disabled_at is not None:
        raise Conflict(f"The identity provider {provider.name} is disabled.")
    return provider


def list_providers(session: Session, organization_id: str) -> list[IdentityProvider]:
    """Every provider of the organization, oldest first."""
    return list(
        session.scalars(
            select(IdentityProvider)
            .where(IdentityProvider.organization_id == organization_id)
            .order_by(IdentityProvider.created_at, IdentityProvider.id)
        )
    )


def cabinet_providers(session: Session, organization_id: str | None) -> list[IdentityProvider]:
    """The providers the cabinet offers for logging in: those marked ``cabinet_login``
    and not disabled, of ``organization_id`` (an organization's custom domain) or of
    every organization (the main host), one per issuer and client id (the oldest)."""
    stmt = (
        select(IdentityProvider)
        .where(IdentityProvider.cabinet_login.is_(True), IdentityProvider.disabled_at.is_(None))
        .order_by(IdentityProvider.created_at, IdentityProvider.id)
    )
    if organization_id is not None:
        stmt = stmt.where(IdentityProvider.organization_id == organization_id)
    offered: dict[tuple[str, str], IdentityProvider] = {}
    for provider in session.scalars(stmt):
        offered.setdefault((provider.issuer.rstrip("/"), provider.client_id), provider)
    return list(offered.values())


def cabinet_provider(
    session: Session, provider_id: str, organization_id: str | None
) -> IdentityProvider:
    """One provider the cabinet offers here (:func:`cabinet_providers`), or NotFound."""
    for provider in cabinet_providers(session, organization_id):
        if provider.id == provider_id:
            return provider
    raise NotFound("This identity provider is not offered for logging in here.")


def set_cabinet_login(
    session: Session,
    organization_id: str,
    provider_id: str,
    enabled: bool,
    *,
    now: datetime,
    actor: str = "api",
) -> IdentityProvider:
    """Offer a provider for cabinet login, or stop offering it (audited when it changes,
    once however many ask at the same moment)."""
    provider = get_provider(session, organization_id, provider_id, lock=True)
    if provider.cabinet_login != enabled:
        provider.cabinet_login = enabled
        record(
            session,
            organization_id,
            "identity_provider.updated",
            at=now,
            actor=actor,
            data={"provider_id": provider.id, "cabinet_login": enabled},
        )
    return provider


def disable_provider(
    session: Session, organization_id: str, provider_id: str, *, now: datetime, actor: str = "api"
) -> IdentityProvider:
    """Stop offering a provider; logins under way through it fail cleanly."""
    provider = get_provider(session, organization_id, provider_id, lock=True)
    if provider.disabled_at is None:
        provider.disabled_at = now
        record(
            session,
            organization_id,
            "identity_provider.disabled",
            at=now,
            actor=actor,
            data={"provider_id": provider.id},
        )
    return provider


def provider_out(provider: IdentityProvider, public_url: str) -> ProviderOut:
    """The API view of a provider."""
    return ProviderOut(
        id=provider.id,
        kind=provider.kind,
        name=provider.name,
        issuer=provider.issuer,
        client_id=provider.client_id,
        scopes=list(provider.scopes),
        claims=ClaimsMap(**provider.claims),
        redirect_uri=redirect_uri(public_url, provider.id),
        created_at=provider.created_at,
        disabled_at=provider.disabled_at,
        cabinet_login=provider.cabinet_login,
    )
