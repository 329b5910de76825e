"""Sending one document to one patient from the console (issue [console] point 2).

The files are normalized by :func:`medsign.documents.service.prepare_document` before
any transaction (the caller runs it in a thread: conversion can take seconds); then one
transaction stores the document, creates the envelope and, when the clinic signs
first, applies the organization's seal for the clinic signer (DOCCOD: the employee
signs, then the patient). Policy is checked by the envelope service, as for the API.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from medsign.audit.models import AuditEvent
from medsign.console.schemas import PolicyRow, TimelineEntry
from medsign.documents.models import Document
from medsign.documents.service import PreparedDocument, create_document
from medsign.domain.policy import (
    CONTRACT_LIKE,
    IMPLEMENTED_METHODS,
    DocumentKind,
    Method,
    PolicyContext,
    allowed_methods,
)
from medsign.domain.tokens import Keyring
from medsign.envelopes.models import Envelope
from medsign.envelopes.schemas import EnvelopeIn, SealIn, SignerIn, reaches_by_sms
from medsign.envelopes.service import create_envelope
from medsign.envelopes.signer_actions import apply_seal
from medsign.errors import InvalidInput
from medsign.organizations.models import Organization
from medsign.staff.models import StaffMember
from medsign.staff.schemas import Action, Actor
from medsign.staff.service import require
from medsign.storage.ports import BlobStore
from medsign.usage.service import check_limits

CLINIC_SIGNER = "Clinic"  # the seal signer's name; the seal certificate names the clinic

_REASONS = {
    DocumentKind.USER_AGREEMENT: "why_user_agreement",
    DocumentKind.EDO_AGREEMENT: "why_edo_agreement",
    DocumentKind.INFORMED_CONSENT: "why_informed_consent",
    DocumentKind.TELEMEDICINE_CONSENT: "why_informed_consent",
    DocumentKind.PRESCRIPTION: "why_prescription",
    DocumentKind.MEDICAL_RECORD: "why_medical_record",
}


def patient_signer(name: str, contact: str, method: str = "", *, order: int = 1) -> SignerIn:
    """The patient signer for a typed name and phone or email; the method defaults to
    an SMS code for a phone and an email code for an email (shared/API.md)."""
    name, contact = name.strip(), contact.strip()
    if not name:
        raise InvalidInput("Type the patient's name.", field="patient_name")
    if not contact:
        raise InvalidInput("Type the patient's phone (+79991234567) or email.", field="contact")
    is_email = "@" in contact
    chosen = method.strip() or (Method.EMAIL_OTP.value if is_email else Method.SMS_OTP.value)
    return SignerIn(
        role="patient",
        name=name[:200],
        method=chosen,
        order=order,
        email=contact[:254] if is_email else None,
        phone=None if is_email else contact[:32],
    )


def send_prepared(
    session: Session,
    keyring: Keyring,
    files: BlobStore,
    actor: Actor,
    prepared: PreparedDocument,
    signer: SignerIn,
    *,
    seal_first: bool,
    now: datetime,
    today: date,
    default_ttl: timedelta,
    default_lang: str,
) -> Envelope:
    """Store the document and send it; with ``seal_first`` the organization's seal signs
    for the clinic first (order 1) and the patient is invited after it (order 2)."""
    require(actor, Action.SEND)
    signers = [signer]
    if seal_first:
        clinic = SignerIn(role="clinic", name=CLINIC_SIGNER, method=Method.SEAL.value, order=1)
        signers = [clinic, signer.model_copy(update={"order": 2})]
    body = EnvelopeIn(document_id="-", signers=signers)
    check_limits(session, actor.organization_id, sends_sms=reaches_by_sms(body), today=today)
    doc = create_document(
        session,
        files,
        actor.organization_id,
        prepared=prepared,
        now=now,
        branch_id=actor.branch_id,
        actor=actor.audit_name,
    )
    env = create_envelope(
        session,
        keyring,
        actor.organization_id,
        body.model_copy(update={"document_id": doc.id}),
        now=now,
        default_ttl=default_ttl,
        default_lang=default_lang,
        actor=actor.audit_name,
    )
    if seal_first:
        apply_seal(
            session,
            actor.organization_id,
            env.id,
            env.signers[0].id,
            SealIn(staff_name=actor.email),
            now=now,
            actor=actor.audit_name,
        )
    return env


def policy_rows(session: Session, organization_id: str) -> list[PolicyRow]:
    """Each document kind with the methods a patient may use now (without an EDO
    agreement, the organization's overrides applied) and why."""
    org = session.get(Organization, organization_id)
    ctx = PolicyContext(overrides=(org.policy_overrides or None) if org else None)
    rows = []
    for kind in DocumentKind:
        methods = sorted(m.value for m in allowed_methods(kind, ctx) & IMPLEMENTED_METHODS)
        reason = _REASONS.get(kind, "why_contract_like" if kind in CONTRACT_LIKE else "")
        rows.append(PolicyRow(kind.value, methods, reason))
    return rows


def timeline(session: Session, organization_id: str, envelope_id: str) -> list[TimelineEntry]:
    """The envelope's audit events, oldest first, with staff named by email."""
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.envelope_id == envelope_id, AuditEvent.organization_id == organization_id)
        .order_by(AuditEvent.at, AuditEvent.id)
        .limit(500)
    ).all()
    staff_ids = {e.actor.removeprefix("staff:") for e in events if e.actor.startswith("staff:")}
    emails = (
        dict(
            session.execute(
                select(StaffMember.id, StaffMember.email).where(StaffMember.id.in_(staff_ids))
            ).all()
        )
        if staff_ids
        else {}
    )
    return [
        TimelineEntry(
            at=e.at,
            action=e.action,
            actor=emails.get(e.actor.removeprefix("staff:"), e.actor),
        )
        for e in events
    ]


def document_titles(session: Session, document_ids: set[str]) -> dict[str, str]:
    """Titles of the given documents (one query for a page of the list)."""
    if not document_ids:
        return {}
    rows = session.execute(select(Document.id, Document.title).where(Document.id.in_(document_ids)))
    return {str(i): str(title) for i, title in rows.all()}
