"""The signer's side: opening a link, getting a code, signing or declining.

A simple electronic signature under 63-FZ art. 9: the code proves control of the
contact the clinic has on file; the evidence of who, how, what, where and the consent
text shown is kept with the signature (shared/DESIGN.md "Domain: Evidence").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.documents.models import Document
from medsign.domain.contacts import mask_email, mask_phone
from medsign.domain.otp import (
    ChallengeState,
    OtpRules,
    ascii_digits,
    check_can_send,
    check_challenge_usable,
    check_contact_cap,
    wrong_code_error,
)
from medsign.domain.policy import API_ONLY_METHODS, DocumentKind, Method, Role, check_method
from medsign.domain.states import EnvelopeStatus, SignerStatus, signer_move
from medsign.domain.tokens import Keyring
from medsign.envelopes.models import Envelope, EnvelopeVersion, OtpChallenge, Signer
from medsign.envelopes.policy_context import policy_context
from medsign.envelopes.queries import lock_envelope_by_id, signer_by_link_hash
from medsign.envelopes.service import LINK_PURPOSE
from medsign.envelopes.workflow import end_envelope, follow_up
from medsign.errors import CodeRejected, Conflict, InvalidInput, LinkExpired
from medsign.i18n import t
from medsign.jobs.outbox import JobKind, enqueue
from medsign.organizations.models import Organization

OTP_PURPOSE = "otp"


class LinkState(StrEnum):
    """What the page should show for a link."""

    CAN_SIGN = "can_sign"
    WAITING = "waiting"  # an earlier group has not finished
    SIGNED = "signed"
    DECLINED = "declined"
    CLOSED = "closed"  # voided, expired, declined by someone else
    VIEW = "view"  # a viewer of a completed envelope: the final copy


@dataclass(frozen=True)
class LinkView:
    """Everything the signing page needs; no more personal data than the signer's own."""

    signer: Signer
    envelope: Envelope
    document: Document
    organization_name: str
    state: LinkState
    masked_contact: str

    @property
    def signed_pdf_ready(self) -> bool:
        """True once this signer's signature is in the PDF (a viewer: once completed)."""
        return self.state is LinkState.VIEW or self.signer.sealed_at is not None


def masked_contact(signer: Signer) -> str:
    """The signer's contact for their channel, masked."""
    if signer.method == Method.SMS_OTP.value and signer.phone:
        return mask_phone(signer.phone)
    if signer.method == Method.CABINET.value and signer.phone:
        return mask_phone(signer.phone)
    if signer.email:
        return mask_email(signer.email)
    return ""


def _state(signer: Signer, env: Envelope, now: datetime) -> LinkState:
    if signer.role == Role.VIEWER.value:
        if env.status == EnvelopeStatus.COMPLETED.value:
            return LinkState.VIEW
        return LinkState.WAITING if env.status == EnvelopeStatus.SENT.value else LinkState.CLOSED
    if signer.status == SignerStatus.SIGNED.value:
        return LinkState.SIGNED
    if signer.status == SignerStatus.DECLINED.value:
        return LinkState.DECLINED
    if env.status != EnvelopeStatus.SENT.value or env.expires_at <= now:
        return LinkState.CLOSED
    if signer.status == SignerStatus.WAITING.value:
        return LinkState.WAITING
    if signer.status == SignerStatus.NOTIFIED.value:
        return LinkState.CAN_SIGN
    return LinkState.CLOSED


def _find_signer(session: Session, keyring: Keyring, token: str) -> Signer:
    if not token or len(token) > 100:
        raise LinkExpired("This link is not valid. Ask the clinic to send you a new one.")
    signer = signer_by_link_hash(session, keyring.hash(LINK_PURPOSE, token))
    if signer is None:
        raise LinkExpired("This link is not valid. Ask the clinic to send you a new one.")
    return signer


def signer_view(session: Session, signer: Signer, env: Envelope, now: datetime) -> LinkView:
    """What a signer sees of ``env`` now (the caller found the signer and, to act, locked
    the envelope)."""
    doc = session.get(Document, env.document_id)
    org = session.get(Organization, env.organization_id)
    assert doc is not None and org is not None
    return LinkView(signer, env, doc, org.name, _state(signer, env, now), masked_contact(signer))


def open_link(session: Session, keyring: Keyring, token: str, *, now: datetime) -> LinkView:
    """Resolve a link token; LinkExpired when it is unknown or was replaced."""
    signer = _find_signer(session, keyring, token)
    return signer_view(session, signer, signer.envelope, now)


def _locked_view(session: Session, keyring: Keyring, token: str, now: datetime) -> LinkView:
    """Like open_link, with the envelope row locked: every action on it is serialized."""
    signer = _find_signer(session, keyring, token)
    env = lock_envelope_by_id(session, signer.envelope_id)
    assert env is not None
    return signer_view(session, signer, env, now)


_NOT_ON_PAGE = API_ONLY_METHODS | {Method.DEVICE.value}


def _require_can_sign(view: LinkView) -> None:
    if view.signer.method in _NOT_ON_PAGE:
        # A seal, a clinician's device signature or an external qualified signature is
        # never made with a code on the signing page, whatever contact the signer has.
        raise Conflict(
            "This signature is made by the clinic through its system, not on this page.",
            state="api_only",
        )
    if view.state is LinkState.SIGNED:
        raise Conflict("You have already signed this document.", state="signed")
    if view.state is LinkState.DECLINED:
        raise Conflict("You declined this document; it can no longer be signed.", state="declined")
    if view.state is LinkState.WAITING:
        raise Conflict(
            "Others sign before you. You will get a message when it is your turn.",
            state="waiting",
        )
    if view.state is LinkState.CLOSED:
        raise LinkExpired(
            "This document can no longer be signed (withdrawn or expired). "
            "Contact the clinic if you have questions."
        )


def _latest_challenge(session: Session, signer_id: str) -> OtpChallenge | None:
    return session.scalars(
        select(OtpChallenge)
        .where(OtpChallenge.signer_id == signer_id)
        .order_by(OtpChallenge.sent_at.desc())
        .limit(1)
    ).first()


def sends_in_allowance(session: Session, signer: Signer) -> int:
    """Codes sent to ``signer`` since their allowance was last renewed (or ever)."""
    query = (
        select(func.count()).select_from(OtpChallenge).where(OtpChallenge.signer_id == signer.id)
    )
    if signer.otp_allowance_from is not None:
        query = query.where(OtpChallenge.sent_at >= signer.otp_allowance_from)
    return int(session.scalar(query) or 0)


def _check_contact_cap(
    session: Session, rules: OtpRules, signer: Signer, channel: str, now: datetime
) -> None:
    """At most ``max_sends_per_contact`` codes to one phone or email per window, across
    every link and organization: renewals by the clinic cannot become a guessing path."""
    contact = signer.phone if channel == "sms" else signer.email
    if not contact:
        return
    column = Signer.phone if channel == "sms" else Signer.email
    count, oldest = session.execute(
        select(func.count(), func.min(OtpChallenge.sent_at))
        .select_from(OtpChallenge)
        .join(Signer, Signer.id == OtpChallenge.signer_id)
        .where(
            column == contact,
            OtpChallenge.channel == channel,
            OtpChallenge.sent_at > now - rules.contact_window,
        )
    ).one()
    check_contact_cap(rules, int(count or 0), oldest, now)


def send_code(
    session: Session, keyring: Keyring, rules: OtpRules, token: str, *, now: datetime
) -> LinkView:
    """Create a code challenge and queue its delivery over the signer's channel."""
    view = _locked_view(session, keyring, token, now)
    _require_can_sign(view)
    signer = view.signer
    if signer.method == Method.CABINET.value:
        raise Conflict(
            "This document is signed in your patient cabinet: open it and log in there.",
            state="cabinet",
        )
    last = _latest_challenge(session, signer.id)
    check_can_send(rules, sends_in_allowance(session, signer), last.sent_at if last else None, now)
    channel = "sms" if signer.method == Method.SMS_OTP.value else "email"
    _check_contact_cap(session, rules, signer, channel, now)
    challenge = OtpChallenge(signer_id=signer.id, channel=channel, code_hash="", sent_at=now)
    session.add(challenge)
    session.flush()
    code = keyring.otp_code(challenge.id)
    challenge.code_hash = keyring.hash(OTP_PURPOSE, f"{challenge.id}:{code}")
    enqueue(session, JobKind.SEND_CODE, {"challenge_id": challenge.id}, now=now)
    record(
        session,
        view.envelope.organization_id,
        "signer.code_sent",
        at=now,
        actor=f"signer:{signer.id}",
        envelope_id=view.envelope.id,
        data={"signer_id": signer.id, "channel": channel, "challenge_id": challenge.id},
    )
    return view


@dataclass(frozen=True)
class Client:
    """Where a request came from (evidence)."""

    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class SignOutcome:
    """The result of a "Sign" press: the view, or the code error to show.

    A wrong code is not an exception inside the transaction, because the attempt
    count it raises must be committed.
    """

    view: LinkView
    error: CodeRejected | None = None


def sign(
    session: Session,
    keyring: Keyring,
    rules: OtpRules,
    token: str,
    code: str,
    *,
    shown_sha256: str | None,
    client: Client,
    now: datetime,
) -> SignOutcome:
    """Check the code and record the signature; the seal job puts it into the PDF."""
    view = _locked_view(session, keyring, token, now)
    _require_can_sign(view)
    signer, env = view.signer, view.envelope
    # Policy is evaluated again at signing time: the EDO agreement may have been revoked
    # or the organization may have tightened its rules since the envelope was created.
    check_method(
        DocumentKind(view.document.kind),
        Method(signer.method),
        Role(signer.role),
        policy_context(session, env.organization_id, signer.patient_id, now),
    )
    code = ascii_digits(code)
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return SignOutcome(view, CodeRejected("Type the 6-digit code from the message."))
    challenge = _latest_challenge(session, signer.id)
    state = (
        ChallengeState(challenge.sent_at, challenge.attempts, challenge.used_at is not None)
        if challenge
        else None
    )
    try:
        check_challenge_usable(rules, state, now)
    except CodeRejected as exc:
        return SignOutcome(view, exc)
    assert challenge is not None
    if not keyring.verify(OTP_PURPOSE, f"{challenge.id}:{code}", challenge.code_hash):
        challenge.attempts += 1
        record(
            session,
            env.organization_id,
            "signer.code_rejected",
            at=now,
            actor=f"signer:{signer.id}",
            envelope_id=env.id,
            data={"signer_id": signer.id, "attempts": challenge.attempts},
        )
        return SignOutcome(view, wrong_code_error(rules, challenge.attempts))
    shown = check_shown(session, env, shown_sha256)
    challenge.used_at = now
    record_signature(
        session,
        env,
        signer,
        _evidence(view, challenge, shown, client, now),
        {"method": signer.method, "sha256_shown": shown},
        now=now,
    )
    return SignOutcome(view)


def check_shown(session: Session, env: Envelope, shown_sha256: str | None) -> str:
    """The SHA-256 of the PDF the page showed (default: the current one); InvalidInput
    unless it is one of the envelope's versions (evidence "what": exactly these bytes)."""
    shown = shown_sha256 or env.current_sha256
    known = session.scalar(
        select(func.count())
        .select_from(EnvelopeVersion)
        .where(EnvelopeVersion.envelope_id == env.id, EnvelopeVersion.sha256 == shown)
    )
    if not known:
        raise InvalidInput(
            "The page showed a different document than this envelope's. Reload and try again.",
            field="shown_sha256",
        )
    return shown


def record_signature(
    session: Session,
    env: Envelope,
    signer: Signer,
    evidence: dict[str, Any],
    audit_data: dict[str, Any],
    *,
    now: datetime,
    seal: bool = True,
) -> None:
    """The signer has signed (by code, identity provider, ...): move them to ``signed``
    with their evidence, audit it, and queue the seal job that puts it into the PDF
    (``seal=False``: the caller puts the signature into the PDF itself, as a
    clinician's device signature is). A followed envelope (a telemedicine consent) also
    queues its follow-up (workflow.follow_up). The caller holds the envelope's lock."""
    signer.status = signer_move(SignerStatus(signer.status), SignerStatus.SIGNED)
    signer.signed_at = now
    signer.evidence = evidence
    env.updated_at = now
    record(
        session,
        env.organization_id,
        "signer.signed",
        at=now,
        actor=f"signer:{signer.id}",
        envelope_id=env.id,
        data={"signer_id": signer.id, **audit_data},
    )
    if seal:
        enqueue(session, JobKind.SEAL, {"envelope_id": env.id}, now=now)
    follow_up(session, env, now=now)


def evidence_of(
    view: LinkView,
    shown: str,
    client: Client,
    now: datetime,
    *,
    lang: str,
    consent_text: str,
    how: dict[str, Any],
) -> dict[str, Any]:
    """A signature's evidence (DESIGN.md "Evidence"): who, what was shown, when, from
    where, the consent text, and ``how`` (the method's own part: code or login)."""
    signer = view.signer
    return {
        "version": 1,
        "envelope_id": view.envelope.id,
        "document": {
            "id": view.document.id,
            "title": view.document.title,
            "kind": view.document.kind,
            "sha256_original": view.document.sha256,
            "sha256_shown": shown,
        },
        "signer": {
            "id": signer.id,
            "name": signer.name,
            "role": signer.role,
            "relation": signer.relation,
            "contact": view.masked_contact,
            "patient_mis_id": signer.patient_mis_id,
        },
        **how,
        "signed_at": now.isoformat(),
        "ip": client.ip,
        "user_agent": (client.user_agent or "")[:300],
        "consent_text": consent_text,
        "lang": lang,
        "organization": view.organization_name,
    }


def _evidence(
    view: LinkView, challenge: OtpChallenge, shown: str, client: Client, now: datetime
) -> dict[str, Any]:
    lang = view.signer.lang
    return evidence_of(
        view,
        shown,
        client,
        now,
        lang=lang,
        consent_text=t("consent", lang),
        how={
            "method": view.signer.method,
            "channel": challenge.channel,
            "code_sent_at": challenge.sent_at.isoformat(),
            "code_entered_at": now.isoformat(),
            "code_attempts": challenge.attempts + 1,
        },
    )


def decline(
    session: Session,
    keyring: Keyring,
    token: str,
    reason: str,
    *,
    client: Client,
    now: datetime,
) -> LinkView:
    """The signer refuses: the envelope ends as declined."""
    view = _locked_view(session, keyring, token, now)
    _require_can_sign(view)
    signer, env = view.signer, view.envelope
    reason = reason.strip()[:1000] or "No reason given"
    signer.status = signer_move(SignerStatus(signer.status), SignerStatus.DECLINED)
    signer.declined_at = now
    signer.decline_reason = reason
    end_envelope(
        session,
        env,
        EnvelopeStatus.DECLINED,
        now=now,
        actor=f"signer:{signer.id}",
        data={"signer_id": signer.id, "reason": reason, "ip": client.ip},
    )
    return view
