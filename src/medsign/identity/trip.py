"""One trip to an identity provider and back, whatever the login is for.

The protocol part lives here once; what a login *means* lives with its purpose:

- ``sign``: a signer logs in to sign one document version (identity.login). The nonce
  binds the login to the document's SHA-256 and the signer; a fresh login is asked for.
- ``cabinet_login``: a patient logs in to the cabinet (cabinet.idp). No signer, no
  document: the nonce binds the login row; a login at the provider up to
  :data:`CABINET_MAX_AGE` old is accepted (the provider asks again when older).
- ``cabinet_link``: a logged-in patient links the identity to the cabinet account named
  on the row; a fresh login, as for signing.

Both purposes share one table (``idp_logins``: a purpose, a nullable signer and a
nullable account) rather than two sibling tables, so ``state`` is unique across every
login in flight and the one callback URL per provider (registered at the provider,
RFC 9700 §4.4.2) finds the login by its state alone and then dispatches by purpose.

Three steps, so no database transaction waits on the provider:
1. :func:`begin` writes the single-use login (``state``: RFC 6749 §10.12, kept as its
   keyed hash; PKCE: RFC 7636, derived, never stored; the nonce) and builds the URL.
2. :func:`claim` (the provider sent the browser back): the login is taken once,
   atomically; a foreign ``state``, a replay, another provider or a cancel ends here.
3. :func:`fetch_identity` (no database) trades the code, verifies the ID token and
   reads the profile; the purpose's own ``finish`` then decides.
Every ending that does not succeed is recorded with :func:`fail` (an audit event).
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.domain.tokens import Keyring
from medsign.envelopes.models import Signer
from medsign.errors import DomainError, LoginRejected
from medsign.identity import esia
from medsign.identity.models import IdentityProvider, IdpLogin
from medsign.identity.protocol import (
    AuthRequest,
    Http,
    authorization_url,
    exchange_code,
    login_nonce,
    nonce_for,
    userinfo,
    verify_id_token,
)
from medsign.identity.secretbox import open_secret
from medsign.identity.service import esia_client, redirect_uri

STATE_PURPOSE = "idp-state"
PKCE_PURPOSE = "idp-pkce"
# A cabinet login accepts the person's login at the provider up to this old
# (``max_age``, OIDC Core §3.1.2.1); signing and linking ask for a fresh one.
CABINET_MAX_AGE = 600


class Purpose(StrEnum):
    """What a login is for (``idp_logins.purpose``)."""

    SIGN = "sign"
    CABINET_LOGIN = "cabinet_login"
    CABINET_LINK = "cabinet_link"


def code_verifier(keyring: Keyring, login_id: str) -> str:
    """The PKCE verifier of a login: 64 hex characters derived from the deployment
    secret (RFC 7636 §4.1 asks for 43-128 unreserved characters), never stored."""
    return keyring.hash(PKCE_PURPOSE, login_id)


def _nonce(login: IdpLogin) -> str:
    if login.purpose == Purpose.SIGN:
        assert login.sha256 is not None and login.signer_id is not None
        return nonce_for(login.sha256, login.signer_id, login.nonce_salt)
    return login_nonce(login.purpose, login.id, login.nonce_salt)


def _max_age(purpose: str) -> int:
    return CABINET_MAX_AGE if purpose == Purpose.CABINET_LOGIN else 0


@dataclass(frozen=True)
class Started:
    """Where to send the browser, the state to keep in its cookie, and the login."""

    url: str
    state: str
    login_id: str


def begin(
    session: Session,
    keyring: Keyring,
    provider: IdentityProvider,
    purpose: Purpose,
    *,
    public_url: str,
    lang: str,
    now: datetime,
    signer_id: str | None = None,
    account_id: str | None = None,
    cabinet_session_id: str | None = None,
    sha256: str | None = None,
    title: str | None = None,
) -> Started:
    """Write a single-use login and build the provider's authorization URL (step 1)."""
    # ESIA takes only a UUID as state (RFC 9562 §5.4: 122 random bits).
    state = str(uuid.uuid4()) if provider.kind == "esia" else secrets.token_urlsafe(32)
    login = IdpLogin(
        purpose=purpose.value,
        signer_id=signer_id,
        account_id=account_id,
        cabinet_session_id=cabinet_session_id,
        provider_id=provider.id,
        state_hash=keyring.hash(STATE_PURPOSE, state),
        nonce_salt=secrets.token_hex(16),
        sha256=sha256,
        lang=lang,
        started_at=now,
    )
    session.add(login)
    session.flush()
    request = AuthRequest(
        state=state,
        nonce=_nonce(login),
        code_verifier=code_verifier(keyring, login.id),
        redirect_uri=redirect_uri(public_url, provider.id),
        lang=lang,
        title=title,
        sha256=sha256,
        max_age=_max_age(purpose),
    )
    if provider.kind == "esia":
        client = esia_client(keyring, provider)
        url = esia.authorization_url(
            provider.discovery, provider.client_id, provider.scopes, client, request, now
        )
    else:
        url = authorization_url(provider.discovery, provider.client_id, provider.scopes, request)
    return Started(url, state, login.id)


@dataclass(frozen=True)
class Claimed:
    """A login taken for finishing, with what the provider calls need (no ORM rows)."""

    login_id: str
    purpose: str
    signer_id: str | None
    account_id: str | None
    link_token: str | None  # signing: the signer's link, for the way back
    lang: str
    organization_id: str
    provider_id: str
    provider_name: str
    issuer: str
    client_id: str
    client_secret: str
    discovery: dict[str, Any]
    claims_map: dict[str, str]
    redirect_uri: str
    nonce: str
    code_verifier: str
    sha256: str | None
    started_at: datetime
    envelope_id: str | None = None
    cabinet_session_id: str | None = None
    max_age: int = 0
    kind: str = "oidc"
    scopes: list[str] = field(default_factory=list)
    esia: esia.EsiaClient | None = None


@dataclass(frozen=True)
class Ended:
    """How a callback ended when it did not succeed: the error to show, the login's
    purpose, and (when the login was known) its language and, for signing, the
    signer's link token (the way back)."""

    error: DomainError
    link_token: str | None = None
    lang: str | None = None
    purpose: str = Purpose.SIGN.value


def _signer(session: Session, login: IdpLogin) -> Signer | None:
    return session.get(Signer, login.signer_id) if login.signer_id else None


def _link(keyring: Keyring, signer: Signer | None) -> str | None:
    return keyring.link_token(signer.id, signer.link_version) if signer else None


def audit_failure(
    session: Session, login: IdpLogin, reason: str, now: datetime, **data: Any
) -> None:
    """The audit event of a login that ended without success: ``signer.idp_failed``
    in the envelope's organization for signing, ``cabinet.idp_failed`` in the
    provider's organization for the cabinet (no contact, no subject in it)."""
    signer = _signer(session, login)
    if signer is not None:
        record(
            session,
            signer.envelope.organization_id,
            "signer.idp_failed",
            at=now,
            actor=f"signer:{signer.id}",
            envelope_id=signer.envelope_id,
            data={"signer_id": signer.id, "login_id": login.id, "reason": reason, **data},
        )
        return
    provider = session.get(IdentityProvider, login.provider_id)
    assert provider is not None
    record(
        session,
        provider.organization_id,
        "cabinet.idp_failed",
        at=now,
        actor=f"cabinet:{login.account_id}" if login.account_id else "cabinet",
        data={
            "purpose": login.purpose,
            "provider_id": provider.id,
            "login_id": login.id,
            "reason": reason,
            **data,
        },
    )


def fail(session: Session, login: IdpLogin, reason: str, now: datetime, **data: Any) -> None:
    """Close a login as failed with ``reason`` and record why (:func:`audit_failure`)."""
    login.finished_at = login.finished_at or now
    login.outcome = reason
    audit_failure(session, login, reason, now, **data)


def _find(session: Session, keyring: Keyring, state: str) -> IdpLogin | None:
    if not state or len(state) > 200:
        return None
    return session.scalars(
        select(IdpLogin).where(IdpLogin.state_hash == keyring.hash(STATE_PURPOSE, state))
    ).first()


def _again(purpose: str | None) -> str:
    if purpose is None:  # a login this browser never started: who knows what for
        return "Start again from your signing link or from the patient cabinet."
    if purpose == Purpose.SIGN:
        return "Open your signing link again and sign in from there."
    return "Go back to the patient cabinet and start again."


def claim(
    session: Session,
    keyring: Keyring,
    provider_id: str,
    params: dict[str, str],
    cookie_state: str | None,
    *,
    public_url: str,
    now: datetime,
) -> Claimed | Ended:
    """Take the login named by the callback's ``state`` once (step 2)."""
    state = params.get("state", "")
    login = _find(session, keyring, cookie_state or "")
    if login is None or not hmac.compare_digest(state.encode(), (cookie_state or "").encode()):
        # RFC 6749 §10.12: the state must be the one this browser was given.
        error = LoginRejected(
            "This answer from the identity provider does not belong to the login started in "
            "this browser. " + _again(login.purpose if login is not None else None),
            reason="state-mismatch",
        )
        if login is not None and login.finished_at is None:
            fail(session, login, "state-mismatch", now)
            link_token = _link(keyring, _signer(session, login))
            return Ended(error, link_token, login.lang, login.purpose)
        return Ended(error)
    taken = session.execute(
        update(IdpLogin)
        .where(IdpLogin.id == login.id, IdpLogin.finished_at.is_(None))
        .values(finished_at=now, outcome="pending")
    )
    signer = _signer(session, login)
    back = (_link(keyring, signer), login.lang, login.purpose)
    nothing = "Nothing was signed" if login.purpose == Purpose.SIGN else "You are not logged in"
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        audit_failure(session, login, "replayed", now)
        return Ended(
            LoginRejected(
                "This login was already used. " + _again(login.purpose),
                reason="replayed",
            ),
            *back,
        )
    session.refresh(login)
    if login.provider_id != provider_id:
        fail(session, login, "wrong-provider", now)
        return Ended(
            LoginRejected(
                "The answer came from another identity provider than the one the login was "
                f"started with. {nothing}.",
                reason="wrong-provider",
            ),
            *back,
        )
    if params.get("error") or not params.get("code"):
        error_code = params.get("error", "no_code")[:64]
        fail(session, login, "cancelled", now, error=error_code)
        again = "from the document" if login.purpose == Purpose.SIGN else "from the cabinet"
        return Ended(
            LoginRejected(
                f"The login at the identity provider was cancelled or refused. {nothing}; "
                f"you can try again {again}.",
                reason="cancelled",
                error=error_code,
            ),
            *back,
        )
    provider = session.get(IdentityProvider, login.provider_id)
    assert provider is not None
    if provider.disabled_at is not None or (
        login.purpose != Purpose.SIGN and not provider.cabinet_login
    ):
        fail(session, login, "provider-disabled", now)
        return Ended(
            LoginRejected("The clinic no longer uses this identity provider.", reason="disabled"),
            *back,
        )
    return Claimed(
        login_id=login.id,
        purpose=login.purpose,
        signer_id=login.signer_id,
        account_id=login.account_id,
        link_token=back[0],
        lang=login.lang,
        organization_id=provider.organization_id,
        envelope_id=signer.envelope_id if signer else None,
        cabinet_session_id=login.cabinet_session_id,
        provider_id=provider.id,
        provider_name=provider.name,
        issuer=provider.issuer,
        client_id=provider.client_id,
        client_secret=open_secret(keyring, provider.id, provider.client_secret_enc),
        discovery=dict(provider.discovery),
        claims_map=dict(provider.claims),
        redirect_uri=redirect_uri(public_url, provider.id),
        nonce=_nonce(login),
        code_verifier=code_verifier(keyring, login.id),
        sha256=login.sha256,
        started_at=login.started_at,
        max_age=_max_age(login.purpose),
        kind=provider.kind,
        scopes=list(provider.scopes),
        esia=esia_client(keyring, provider) if provider.kind == "esia" else None,
    )


def fail_claimed(session: Session, claimed: Claimed, error: DomainError, *, now: datetime) -> None:
    """Record that a claimed login ended with ``error`` (provider down, bad token, ...)."""
    login = session.get(IdpLogin, claimed.login_id)
    assert login is not None
    reason = str(error.extra.get("reason") or error.slug)
    extra = {k: v for k, v in error.extra.items() if k in ("check", "step", "error")}
    fail(session, login, reason, now, **extra)


@dataclass(frozen=True)
class Identity:
    """What the provider vouched for, with everything needed to re-check it later."""

    subject: str
    claims: dict[str, Any]  # ID token claims, completed from userinfo
    header: dict[str, Any]
    id_token: str
    jwks: dict[str, Any]
    userinfo: dict[str, Any]


# Claims a cabinet login reads from userinfo when the ID token lacks them (OIDC Core
# §5.1: the verified phone or email that names the cabinet account).
CONTACT_CLAIMS = ("email", "email_verified", "phone_number", "phone_number_verified")


def fetch_identity(http: Http, claimed: Claimed, code: str, *, now: datetime) -> Identity:
    """Code exchange, ID token verification, userinfo (step 3, no database)."""
    if claimed.esia is not None:
        return _fetch_esia(http, claimed, claimed.esia, code, now=now)
    tokens = exchange_code(
        http,
        claimed.discovery,
        claimed.client_id,
        claimed.client_secret,
        code,
        claimed.code_verifier,
        claimed.redirect_uri,
    )
    raw = tokens.get("id_token")
    if not isinstance(raw, str):
        raise LoginRejected(
            "The identity provider sent no ID token.",
            reason="id-token-invalid",
            check="missing",
        )
    jwks = http.get_json(str(claimed.discovery["jwks_uri"]), "jwks")
    header, claims = verify_id_token(
        raw,
        jwks,
        issuer=claimed.issuer,
        client_id=claimed.client_id,
        nonce=claimed.nonce,
        started_at=claimed.started_at,
        now=now,
        max_age=claimed.max_age,
    )
    info: dict[str, Any] = {}
    wanted = [v for v in claimed.claims_map.values() if v]
    if claimed.purpose == Purpose.CABINET_LOGIN:
        wanted += ["email", "phone_number"]
    if any(name not in claims for name in wanted):
        access = tokens.get("access_token")
        info = userinfo(http, claimed.discovery, access if isinstance(access, str) else "")
        # OIDC Core §5.3.2: the userinfo sub must equal the ID token's, else ignore it.
        if info and info.get("sub") != claims["sub"]:
            raise LoginRejected(
                "The identity provider's profile belongs to someone else.",
                reason="id-token-invalid",
                check="userinfo subject",
            )
    merged = {**{k: v for k, v in info.items() if k not in claims}, **claims}
    return Identity(str(claims["sub"]), merged, header, raw, jwks, info)


def _fetch_esia(
    http: Http, claimed: Claimed, client: esia.EsiaClient, code: str, *, now: datetime
) -> Identity:
    """ESIA's step 3: the v3 code exchange signed with the GOST key, the GOST-signed
    ID token checked with ESIA's certificate, the person read from ``/rs/prns/{oid}``
    (and, for a cabinet login, the person's verified contacts)."""
    discovery = claimed.discovery
    tokens = esia.exchange_code(
        http,
        discovery,
        claimed.client_id,
        claimed.scopes,
        client,
        code,
        claimed.redirect_uri,
        now,
    )
    raw, access = tokens.get("id_token"), tokens.get("access_token")
    if not isinstance(raw, str) or not isinstance(access, str):
        raise LoginRejected("ESIA sent no ID token.", reason="id-token-invalid", check="missing")
    header, claims = esia.verify_id_token(
        raw,
        client.provider_certificate,
        issuer=str(discovery["id_token_issuer"]),
        client_id=claimed.client_id,
        nonce=claimed.nonce,
        now=now,
    )
    oid = str(claims["sub"])
    person = esia.person_claims(esia.person(http, discovery, access, oid))
    if not person["trusted"]:
        raise LoginRejected(
            "Your Gosuslugi account is not confirmed, so it cannot prove who you are. "
            "Confirm it (at a service centre or through your bank) and try again.",
            reason="account-unconfirmed",
        )
    if claimed.purpose == Purpose.CABINET_LOGIN and set(esia.CONTACT_SCOPES) & set(claimed.scopes):
        person |= esia.contact_claims(esia.contacts(http, discovery, access, oid))
    merged = {**person, **claims}
    jwks = {"esia_certificate": client.provider_certificate}
    return Identity(str(claims["sub"]), merged, header, raw, jwks, person)
