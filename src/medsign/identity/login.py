"""A login at an identity provider that becomes a patient's signature.

Three steps, so no database transaction waits on the provider:
1. :func:`start_login` (on "Sign with <provider>"): a single-use login bound to this
   signer and this document version: ``state`` (RFC 6749 §10.12), PKCE (RFC 7636), a
   nonce derived from the document's SHA-256 and the signer (protocol.nonce_for), and a
   fresh authentication (``prompt=login``, ``max_age=0``).
2. :func:`claim_login` (the provider sent the browser back): the login is taken once,
   atomically; a replay, a foreign ``state`` or a cancelled login ends here.
3. :func:`fetch_identity` (no database) trades the code, verifies the ID token against
   the JWKS as fetched and reads userinfo; :func:`finish_login` then checks the envelope
   again (it may have been voided meanwhile), matches the person and signs, or records
   why not. Every ending is an audit event; only a match signs.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.domain.identity_match import MatchOutcome, Person, match, normalize_national_id
from medsign.domain.policy import DocumentKind, Method, Role, check_method
from medsign.domain.tokens import Keyring
from medsign.envelopes.models import Signer
from medsign.envelopes.policy_context import policy_context
from medsign.envelopes.service import NATIONAL_ID_PURPOSE
from medsign.envelopes.signing import (
    Client,
    LinkState,
    LinkView,
    _locked_view,
    _require_can_sign,
    evidence_of,
    open_link,
    record_signature,
)
from medsign.errors import DomainError, InvalidInput, LoginRejected
from medsign.i18n import t
from medsign.identity import esia
from medsign.identity.models import IdentityProvider, IdpLogin, PatientIdentity
from medsign.identity.protocol import (
    AuthRequest,
    Http,
    authorization_url,
    exchange_code,
    nonce_for,
    userinfo,
    verify_id_token,
)
from medsign.identity.secretbox import open_secret
from medsign.identity.service import esia_client, redirect_uri, usable_provider
from medsign.patients.models import Patient

STATE_PURPOSE = "idp-state"
PKCE_PURPOSE = "idp-pkce"


def national_id_hash(keyring: Keyring, value: str) -> str:
    """The keyed hash under which a signer's national id is kept (digits only)."""
    return keyring.hash(NATIONAL_ID_PURPOSE, normalize_national_id(value))


def code_verifier(keyring: Keyring, login_id: str) -> str:
    """The PKCE verifier of a login: 64 hex characters derived from the deployment
    secret (RFC 7636 §4.1 asks for 43-128 unreserved characters), never stored."""
    return keyring.hash(PKCE_PURPOSE, login_id)


@dataclass(frozen=True)
class Started:
    """Where to send the browser, and the state to keep in its cookie."""

    url: str
    state: str
    view: LinkView


def start_login(
    session: Session,
    keyring: Keyring,
    token: str,
    *,
    public_url: str,
    lang: str,
    now: datetime,
) -> Started:
    """Begin the trip to the signer's provider (step 1 of the module docstring)."""
    view = _locked_view(session, keyring, token, now)
    _require_can_sign(view)
    signer, env = view.signer, view.envelope
    if signer.method != Method.IDP.value or signer.identity_provider_id is None:
        raise InvalidInput("This signer does not sign through an identity provider.")
    check_method(
        DocumentKind(view.document.kind),
        Method.IDP,
        Role(signer.role),
        policy_context(session, env.organization_id, signer.patient_id, now),
    )
    provider = usable_provider(session, env.organization_id, signer.identity_provider_id)
    # ESIA takes only a UUID as state (RFC 9562 §5.4: 122 random bits).
    state = str(uuid.uuid4()) if provider.kind == "esia" else secrets.token_urlsafe(32)
    login = IdpLogin(
        signer_id=signer.id,
        provider_id=provider.id,
        state_hash=keyring.hash(STATE_PURPOSE, state),
        nonce_salt=secrets.token_hex(16),
        sha256=env.current_sha256,
        lang=lang,
        started_at=now,
    )
    session.add(login)
    session.flush()
    request = AuthRequest(
        state=state,
        nonce=nonce_for(login.sha256, signer.id, login.nonce_salt),
        code_verifier=code_verifier(keyring, login.id),
        redirect_uri=redirect_uri(public_url, provider.id),
        lang=lang,
        title=view.document.title,
        sha256=login.sha256,
    )
    record(
        session,
        env.organization_id,
        "signer.idp_started",
        at=now,
        actor=f"signer:{signer.id}",
        envelope_id=env.id,
        data={"signer_id": signer.id, "provider_id": provider.id, "login_id": login.id},
    )
    if provider.kind == "esia":
        client = esia_client(keyring, provider)
        url = esia.authorization_url(
            provider.discovery, provider.client_id, provider.scopes, client, request, now
        )
    else:
        url = authorization_url(provider.discovery, provider.client_id, provider.scopes, request)
    return Started(url, state, view)


@dataclass(frozen=True)
class Claimed:
    """A login taken for finishing, with what the provider calls need (no ORM rows)."""

    login_id: str
    signer_id: str
    link_token: str
    lang: str
    organization_id: str
    envelope_id: str
    provider_id: str
    issuer: str
    client_id: str
    client_secret: str
    discovery: dict[str, Any]
    claims_map: dict[str, str]
    redirect_uri: str
    nonce: str
    code_verifier: str
    sha256: str
    started_at: datetime
    kind: str = "oidc"
    scopes: list[str] = field(default_factory=list)
    esia: esia.EsiaClient | None = None


def _fail(
    session: Session, login: IdpLogin, signer: Signer, reason: str, now: datetime, **data: Any
) -> None:
    """Record why a login signs nothing (audit event ``signer.idp_failed``)."""
    login.finished_at = login.finished_at or now
    login.outcome = reason
    record(
        session,
        signer.envelope.organization_id,
        "signer.idp_failed",
        at=now,
        actor=f"signer:{signer.id}",
        envelope_id=signer.envelope_id,
        data={"signer_id": signer.id, "login_id": login.id, "reason": reason, **data},
    )


@dataclass(frozen=True)
class Ended:
    """How a callback ended when it did not sign: the error to show, and the signer's
    link token and language when the login was known (for a way back)."""

    error: DomainError
    link_token: str | None = None
    lang: str | None = None


def _find(session: Session, keyring: Keyring, state: str) -> IdpLogin | None:
    if not state or len(state) > 200:
        return None
    return session.scalars(
        select(IdpLogin).where(IdpLogin.state_hash == keyring.hash(STATE_PURPOSE, state))
    ).first()


def claim_login(
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
            "this browser. Open your signing link again and sign in from there.",
            reason="state-mismatch",
        )
        if login is not None and login.finished_at is None:
            signer = _signer(session, login)
            _fail(session, login, signer, "state-mismatch", now)
            return Ended(error, _link(keyring, signer), login.lang)
        return Ended(error)
    signer = _signer(session, login)
    taken = session.execute(
        update(IdpLogin)
        .where(IdpLogin.id == login.id, IdpLogin.finished_at.is_(None))
        .values(finished_at=now, outcome="pending")
    )
    back = (_link(keyring, signer), login.lang)
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        record(
            session,
            signer.envelope.organization_id,
            "signer.idp_failed",
            at=now,
            actor=f"signer:{signer.id}",
            envelope_id=signer.envelope_id,
            data={"signer_id": signer.id, "login_id": login.id, "reason": "replayed"},
        )
        return Ended(
            LoginRejected(
                "This login was already used. Open your signing link again to sign in anew.",
                reason="replayed",
            ),
            *back,
        )
    session.refresh(login)
    if login.provider_id != provider_id:
        _fail(session, login, signer, "wrong-provider", now)
        return Ended(
            LoginRejected(
                "The answer came from another identity provider than the one this document "
                "asks for. Nothing was signed.",
                reason="wrong-provider",
            ),
            *back,
        )
    if params.get("error") or not params.get("code"):
        error_code = params.get("error", "no_code")[:64]
        _fail(session, login, signer, "cancelled", now, error=error_code)
        return Ended(
            LoginRejected(
                "The login at the identity provider was cancelled or refused. Nothing was "
                "signed; you can try again from the document.",
                reason="cancelled",
                error=error_code,
            ),
            *back,
        )
    provider = session.get(IdentityProvider, login.provider_id)
    assert provider is not None
    if provider.disabled_at is not None:
        _fail(session, login, signer, "provider-disabled", now)
        return Ended(
            LoginRejected("The clinic no longer uses this identity provider.", reason="disabled"),
            *back,
        )
    return Claimed(
        login_id=login.id,
        signer_id=signer.id,
        link_token=back[0],
        lang=login.lang,
        organization_id=provider.organization_id,
        envelope_id=signer.envelope_id,
        provider_id=provider.id,
        issuer=provider.issuer,
        client_id=provider.client_id,
        client_secret=open_secret(keyring, provider.id, provider.client_secret_enc),
        discovery=dict(provider.discovery),
        claims_map=dict(provider.claims),
        redirect_uri=redirect_uri(public_url, provider.id),
        nonce=nonce_for(login.sha256, signer.id, login.nonce_salt),
        code_verifier=code_verifier(keyring, login.id),
        sha256=login.sha256,
        started_at=login.started_at,
        kind=provider.kind,
        scopes=list(provider.scopes),
        esia=esia_client(keyring, provider) if provider.kind == "esia" else None,
    )


def _signer(session: Session, login: IdpLogin) -> Signer:
    signer = session.get(Signer, login.signer_id)
    assert signer is not None
    return signer


def _link(keyring: Keyring, signer: Signer) -> str:
    return keyring.link_token(signer.id, signer.link_version)


@dataclass(frozen=True)
class Identity:
    """What the provider vouched for, with everything needed to re-check it later."""

    subject: str
    claims: dict[str, Any]  # ID token claims, completed from userinfo
    header: dict[str, Any]
    id_token: str
    jwks: dict[str, Any]
    userinfo: dict[str, Any]


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
            "The identity provider sent no ID token. Nothing was signed.",
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
    )
    info: dict[str, Any] = {}
    wanted = [v for v in claimed.claims_map.values() if v]
    if any(name not in claims for name in wanted):
        access = tokens.get("access_token")
        info = userinfo(http, claimed.discovery, access if isinstance(access, str) else "")
        # OIDC Core §5.3.2: the userinfo sub must equal the ID token's, else ignore it.
        if info and info.get("sub") != claims["sub"]:
            raise LoginRejected(
                "The identity provider's profile belongs to someone else. Nothing was signed.",
                reason="id-token-invalid",
                check="userinfo subject",
            )
    merged = {**{k: v for k, v in info.items() if k not in claims}, **claims}
    return Identity(str(claims["sub"]), merged, header, raw, jwks, info)


def _fetch_esia(
    http: Http, claimed: Claimed, client: esia.EsiaClient, code: str, *, now: datetime
) -> Identity:
    """ESIA's step 3: the v3 code exchange signed with the GOST key, the GOST-signed
    ID token checked with ESIA's certificate, the person read from ``/rs/prns/{oid}``."""
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
        raise LoginRejected(
            "ESIA sent no ID token. Nothing was signed.", reason="id-token-invalid", check="missing"
        )
    header, claims = esia.verify_id_token(
        raw,
        client.provider_certificate,
        issuer=str(discovery["id_token_issuer"]),
        client_id=claimed.client_id,
        nonce=claimed.nonce,
        now=now,
    )
    record = esia.person(http, discovery, access, str(claims["sub"]))
    person = esia.person_claims(record)
    if not person["trusted"]:
        raise LoginRejected(
            "Your Gosuslugi account is not confirmed, so it cannot prove who you are. "
            "Confirm it (at a service centre or through your bank) and sign again.",
            reason="account-unconfirmed",
        )
    merged = {**person, **claims}
    jwks = {"esia_certificate": client.provider_certificate}
    return Identity(str(claims["sub"]), merged, header, raw, jwks, person)


def _vouched(identity: Identity, claims_map: dict[str, str]) -> Person:
    c = identity.claims
    name = c.get(claims_map.get("name", "name"))
    if not isinstance(name, str):
        parts = [c.get(k) for k in ("family_name", "given_name", "middle_name")]
        name = " ".join(p for p in parts if isinstance(p, str)) or None
    born: date | None = None
    raw_born = c.get(claims_map.get("birth_date", "birthdate"))
    if isinstance(raw_born, str):
        try:
            born = date.fromisoformat(raw_born[:10])
        except ValueError:
            born = None
    nid_claim = claims_map.get("national_id")
    nid = c.get(nid_claim) if nid_claim else None
    return Person(name, born, str(nid) if isinstance(nid, str | int) and nid else None)


def fail_claimed(
    session: Session, keyring: Keyring, claimed: Claimed, error: DomainError, *, now: datetime
) -> None:
    """Record that a claimed login ended with ``error`` (provider down, bad token, ...)."""
    login = session.get(IdpLogin, claimed.login_id)
    assert login is not None
    reason = str(error.extra.get("reason") or error.slug)
    extra = {k: v for k, v in error.extra.items() if k in ("check", "step", "error")}
    _fail(session, login, _signer(session, login), reason, now, **extra)


def finish_login(
    session: Session,
    keyring: Keyring,
    claimed: Claimed,
    identity: Identity,
    *,
    client: Client,
    now: datetime,
) -> LinkView | Ended:
    """Match the person and sign, or record why not (the end of step 3)."""
    login = session.get(IdpLogin, claimed.login_id)
    assert login is not None
    view = _locked_view(session, keyring, claimed.link_token, now)
    signer, env = view.signer, view.envelope
    back = (claimed.link_token, claimed.lang)
    if view.state is not LinkState.CAN_SIGN:
        _fail(session, login, signer, "envelope-closed", now, state=view.state.value)
        try:
            _require_can_sign(view)
        except DomainError as exc:
            return Ended(exc, *back)
        raise AssertionError("unreachable")  # pragma: no cover
    if env.current_sha256 != claimed.sha256:
        _fail(session, login, signer, "document-changed", now)
        return Ended(
            LoginRejected(
                "The document changed while you were away. Read it again and sign anew.",
                reason="document-changed",
            ),
            *back,
        )
    vouched = _vouched(identity, claimed.claims_map)
    outcome = _match(session, keyring, signer, vouched)
    if outcome is not MatchOutcome.MATCH:
        reason = "claims-missing" if outcome is MatchOutcome.NOT_ENOUGH_DATA else "mismatch"
        _fail(session, login, signer, reason, now, outcome=outcome.value, issuer=claimed.issuer)
        if reason == "claims-missing":
            error = LoginRejected(
                "The identity provider did not tell us enough about you to check that the "
                "document is yours (name and birth date, or national id). Nothing was signed; "
                "contact the clinic.",
                reason=reason,
            )
        else:
            error = LoginRejected(
                "You signed in as a different person than the one this document is for. "
                "Nothing was signed. If the document is yours, contact the clinic.",
                reason="identity-mismatch",
            )
        return Ended(error, *back)
    login.outcome = "signed"
    record_signature(
        session,
        env,
        signer,
        _evidence(view, claimed, identity, login, client, now),
        {
            "method": Method.IDP.value,
            "sha256_shown": claimed.sha256,
            "issuer": claimed.issuer,
            "subject": identity.subject,
        },
        now=now,
    )
    if signer.patient_id:
        session.add(
            PatientIdentity(
                organization_id=env.organization_id,
                patient_id=signer.patient_id,
                provider_id=claimed.provider_id,
                issuer=claimed.issuer,
                subject=identity.subject,
                claims=_claims_kept(identity, claimed.claims_map),
                verified_at=now,
                envelope_id=env.id,
            )
        )
    return open_link(session, keyring, claimed.link_token, now=now)


def _match(session: Session, keyring: Keyring, signer: Signer, vouched: Person) -> MatchOutcome:
    """The national id decides when both sides have one (compared as keyed hashes);
    else the name and birth date (the signer's, or the patient record's)."""
    if signer.national_id_hash and vouched.national_id:
        same = hmac.compare_digest(
            signer.national_id_hash, national_id_hash(keyring, vouched.national_id)
        )
        return MatchOutcome.MATCH if same else MatchOutcome.NATIONAL_ID_DIFFERS
    born = signer.birth_date
    if born is None and signer.patient_id:
        patient = session.get(Patient, signer.patient_id)
        born = patient.birth_date if patient else None
    return match(Person(signer.name, born), Person(vouched.name, vouched.birth_date))


def _claims_kept(identity: Identity, claims_map: dict[str, str]) -> dict[str, Any]:
    """The identity claims worth keeping on the patient record (what was matched on)."""
    names = {*claims_map.values(), "name", "family_name", "given_name", "middle_name"}
    names |= {"birthdate", "acr", "amr", "auth_time"}
    return {k: v for k, v in identity.claims.items() if k in names}


def _evidence(
    view: LinkView,
    claimed: Claimed,
    identity: Identity,
    login: IdpLogin,
    client: Client,
    now: datetime,
) -> dict[str, Any]:
    """Who, how, what, where (DESIGN.md "Evidence"), with the raw ID token and the JWKS
    as fetched, so the login can be re-checked from the evidence alone."""
    claims = identity.claims
    return evidence_of(
        view,
        claimed.sha256,
        client,
        now,
        lang=claimed.lang,
        consent_text=t("consent_idp", claimed.lang),
        how={
            "method": Method.IDP.value,
            "idp": {
                "provider": claimed.provider_id,
                "issuer": claimed.issuer,
                "subject": identity.subject,
                "auth_time": claims.get("auth_time"),
                "acr": claims.get("acr"),
                "amr": claims.get("amr"),
                "claims": _claims_kept(identity, claimed.claims_map),
                "id_token": identity.id_token,
                "id_token_header": identity.header,
                "jwks": identity.jwks,
                "userinfo": identity.userinfo,
                "nonce": claimed.nonce,
                "nonce_salt": login.nonce_salt,
                "nonce_rule": "base64url(SHA-256('medsign-idp-nonce-v1\\n' + sha256_shown + "
                "'\\n' + signer.id + '\\n' + nonce_salt))",
                "login_started_at": claimed.started_at.isoformat(),
            },
        },
    )
