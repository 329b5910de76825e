"""What the MIS may do to one signer of a live envelope: resend the link, change the
contact (the old link dies), or apply the organization's seal for a clinic signer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.documents.models import Document
from medsign.domain.contacts import mask_email, mask_phone, normalize_email, normalize_phone
from medsign.domain.otp import OtpRules, is_locked_out
from medsign.domain.policy import (
    API_ONLY_METHODS,
    DocumentKind,
    Method,
    Role,
    check_method,
    parse_enum,
)
from medsign.domain.states import EnvelopeStatus, SignerStatus, signer_move
from medsign.domain.tokens import Keyring
from medsign.envelopes.models import Envelope, Signer
from medsign.envelopes.policy_context import policy_context
from medsign.envelopes.queries import load_envelope
from medsign.envelopes.schemas import SealIn, SignerPatch
from medsign.envelopes.service import LINK_PURPOSE
from medsign.envelopes.signing import sends_in_allowance
from medsign.errors import Conflict, InvalidInput, NotFound
from medsign.events.service import emit
from medsign.jobs.outbox import JobKind, enqueue

_OPEN = (SignerStatus.WAITING.value, SignerStatus.NOTIFIED.value)


def _live_signer(
    session: Session, organization_id: str, envelope_id: str, signer_id: str
) -> tuple[Envelope, Signer]:
    env = load_envelope(session, organization_id, envelope_id, lock=True)
    signer = next((s for s in env.signers if s.id == signer_id), None)
    if signer is None:
        raise NotFound(f"No signer {signer_id} in envelope {envelope_id}.")
    if env.status != EnvelopeStatus.SENT.value:
        raise Conflict(f"The envelope is {env.status}; its signers can no longer change.")
    if signer.status not in _OPEN:
        raise Conflict(f"This signer has already {signer.status}; nothing can change for them.")
    return env, signer


def resend_link(
    session: Session,
    organization_id: str,
    envelope_id: str,
    signer_id: str,
    *,
    now: datetime,
    rules: OtpRules | None = None,
    actor: str = "api",
) -> Envelope:
    """Send the signing link again to a signer whose turn it is.

    A signer who used up their codes (``rules.max_sends``) gets a fresh allowance: the
    page tells them to ask the clinic for a new link, and this is that rescue. It is
    audited; the per-contact cap (:func:`medsign.domain.otp.check_contact_cap`) still
    bounds the codes one phone or email receives across links.
    """
    env, signer = _live_signer(session, organization_id, envelope_id, signer_id)
    if signer.status != SignerStatus.NOTIFIED.value:
        raise Conflict("It is not this signer's turn yet; they will be invited when it is.")
    if signer.method in API_ONLY_METHODS:
        raise Conflict(
            f"A {signer.method} signer gets no link; the MIS signs for them through the API."
        )
    if rules is not None and is_locked_out(rules, sends_in_allowance(session, signer)):
        signer.otp_allowance_from = now
        record(
            session,
            organization_id,
            "signer.codes_renewed",
            at=now,
            actor=actor,
            envelope_id=env.id,
            data={"signer_id": signer.id, "max_sends": rules.max_sends},
        )
    if signer.method == Method.DEVICE.value:
        # A clinician's request is prepared again (a fresh expiry) for their devices.
        enqueue(session, JobKind.DEVICE_PREPARE, {"signer_id": signer.id}, now=now)
    else:
        enqueue(session, JobKind.INVITE, {"signer_id": signer.id, "reminder": True}, now=now)
    record(
        session,
        organization_id,
        "signer.link_resent",
        at=now,
        actor=actor,
        envelope_id=env.id,
        data={"signer_id": signer.id},
    )
    return env


def update_signer(
    session: Session,
    keyring: Keyring,
    organization_id: str,
    envelope_id: str,
    signer_id: str,
    patch: SignerPatch,
    *,
    now: datetime,
    actor: str = "api",
) -> Envelope:
    """Change a signer's name, contact or method before they sign; the old link stops
    working and, if it is their turn, a new one is sent."""
    env, signer = _live_signer(session, organization_id, envelope_id, signer_id)
    changes: dict[str, Any] = {}
    if patch.name is not None and patch.name != signer.name:
        changes["name"] = True
        signer.name = patch.name
    if patch.phone is not None:
        phone = normalize_phone(patch.phone)
        if phone != signer.phone:
            changes["phone"] = mask_phone(phone)
            signer.phone = phone
    if patch.email is not None:
        email = normalize_email(patch.email)
        if email != signer.email:
            changes["email"] = mask_email(email)
            signer.email = email
    if patch.method is not None and patch.method != signer.method:
        method = parse_enum(Method, patch.method, "method")
        check_method(
            DocumentKind(env_kind(session, env)),
            method,
            Role(signer.role),
            policy_context(session, organization_id, signer.patient_id, now),
        )
        changes["method"] = method.value
        signer.method = method.value
    if signer.method == Method.SMS_OTP.value and not signer.phone:
        raise InvalidInput("Method sms_otp needs a `phone`.", field="phone")
    if signer.method == Method.EMAIL_OTP.value and not signer.email:
        raise InvalidInput("Method email_otp needs an `email`.", field="email")
    if (signer.method == Method.IDP.value) != (signer.identity_provider_id is not None):
        raise InvalidInput(
            "Method idp is chosen when the signer is created (with `identity_provider_id`); "
            "create a new envelope to switch to or from it.",
            field="method",
        )
    if not changes:
        return env
    signer.link_version += 1
    signer.link_hash = keyring.hash(
        LINK_PURPOSE, keyring.link_token(signer.id, signer.link_version)
    )
    env.updated_at = now
    record(
        session,
        organization_id,
        "signer.updated",
        at=now,
        actor=actor,
        envelope_id=env.id,
        data={"signer_id": signer.id, "changes": changes, "link_version": signer.link_version},
    )
    emit(
        session,
        organization_id,
        "envelope.signer_updated",
        at=now,
        envelope_id=env.id,
        data={"signer_id": signer.id, "changed": sorted(changes)},
    )
    if signer.status == SignerStatus.NOTIFIED.value and signer.method not in API_ONLY_METHODS:
        enqueue(session, JobKind.INVITE, {"signer_id": signer.id}, now=now)
    return env


def env_kind(session: Session, env: Envelope) -> str:
    """The document kind of an envelope."""
    doc = session.get(Document, env.document_id)
    assert doc is not None
    return doc.kind


def apply_seal(
    session: Session,
    organization_id: str,
    envelope_id: str,
    signer_id: str,
    body: SealIn,
    *,
    now: datetime,
    actor: str = "api",
) -> Envelope:
    """A clinic signer with method ``seal`` signs: the organization's seal is applied on
    the clinic's behalf, recorded with who asked for it through the API."""
    env, signer = _live_signer(session, organization_id, envelope_id, signer_id)
    if signer.method != Method.SEAL.value:
        raise Conflict(f"This signer signs with {signer.method}, not with the seal.")
    if signer.status != SignerStatus.NOTIFIED.value:
        raise Conflict("It is not this signer's turn yet: earlier order groups must sign first.")
    check_method(
        DocumentKind(env_kind(session, env)),
        Method.SEAL,
        Role(signer.role),
        policy_context(session, organization_id, None, now),
    )
    signer.status = signer_move(SignerStatus(signer.status), SignerStatus.SIGNED)
    signer.signed_at = now
    signer.evidence = {
        "version": 1,
        "envelope_id": env.id,
        "document": {"id": env.document_id, "sha256_shown": env.current_sha256},
        "signer": {"id": signer.id, "name": signer.name, "role": signer.role},
        "method": Method.SEAL.value,
        "requested_by": {"channel": "api", "staff": body.staff_name},
        "signed_at": now.isoformat(),
    }
    env.updated_at = now
    record(
        session,
        organization_id,
        "signer.signed",
        at=now,
        actor=actor,
        envelope_id=env.id,
        data={"signer_id": signer.id, "method": "seal", "staff": body.staff_name},
    )
    enqueue(session, JobKind.SEAL, {"envelope_id": env.id}, now=now)
    return env
