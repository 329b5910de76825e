"""A login at an identity provider that becomes a patient's signature (the ``sign``
purpose of identity.trip, which holds the protocol steps shared with the cabinet).

1. :func:`start_login` (on "Sign with <provider>"): a single-use login bound to this
   signer and this document version: ``state`` (RFC 6749 §10.12), PKCE (RFC 7636), a
   nonce derived from the document's SHA-256 and the signer (protocol.nonce_for), and a
   fresh authentication (``prompt=login``, ``max_age=0``).
2. trip.claim (the provider sent the browser back): the login is taken once,
   atomically; a replay, a foreign ``state`` or a cancelled login ends there.
3. trip.fetch_identity (no database) trades the code, verifies the ID token against
   the JWKS as fetched and reads userinfo; :func:`finish_login` then checks the envelope
   again (it may have been voided meanwhile), matches the person and signs, or records
   why not. Every ending is an audit event; only a match signs.
"""

from __future__ import annotations

import hmac
from datetime import date, datetime
from typing import Any

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
from medsign.identity import trip
from medsign.identity.models import IdpLogin, PatientIdentity
from medsign.identity.service import usable_provider
from medsign.identity.trip import Claimed, Ended, Identity
from medsign.patients.models import Patient


def national_id_hash(keyring: Keyring, value: str) -> str:
    """The keyed hash under which a signer's national id is kept (digits only)."""
    return keyring.hash(NATIONAL_ID_PURPOSE, normalize_national_id(value))


def start_login(
    session: Session,
    keyring: Keyring,
    token: str,
    *,
    public_url: str,
    lang: str,
    now: datetime,
) -> trip.Started:
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
    started = trip.begin(
        session,
        keyring,
        provider,
        trip.Purpose.SIGN,
        public_url=public_url,
        lang=lang,
        now=now,
        signer_id=signer.id,
        sha256=env.current_sha256,
        title=view.document.title,
    )
    record(
        session,
        env.organization_id,
        "signer.idp_started",
        at=now,
        actor=f"signer:{signer.id}",
        envelope_id=env.id,
        data={"signer_id": signer.id, "provider_id": provider.id, "login_id": started.login_id},
    )
    return started


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
    assert login is not None and claimed.link_token is not None
    view = _locked_view(session, keyring, claimed.link_token, now)
    signer, env = view.signer, view.envelope
    back = (claimed.link_token, claimed.lang)
    if view.state is not LinkState.CAN_SIGN:
        trip.fail(session, login, "envelope-closed", now, state=view.state.value)
        try:
            _require_can_sign(view)
        except DomainError as exc:
            return Ended(exc, *back)
        raise AssertionError("unreachable")  # pragma: no cover
    if env.current_sha256 != claimed.sha256:
        trip.fail(session, login, "document-changed", now)
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
        trip.fail(session, login, reason, now, outcome=outcome.value, issuer=claimed.issuer)
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
            "sha256_shown": env.current_sha256,
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
        view.envelope.current_sha256,  # equal to the login's (finish_login checked)
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
