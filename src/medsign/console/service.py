"""Sending one document to one patient from the console (issue [console] point 2).

The files are normalized by :func:`medsign.documents.service.prepare_document` before
any transaction (the caller runs it in a thread: conversion can take seconds); then one
transaction stores the document, creates the envelope and, when the clinic signs
first, applies the organization's seal for the clinic signer (DOCCOD: the employee
signs, then the patient). Policy is checked by the envelope service, as for the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from medsign.audit.models import AuditEvent
from medsign.audit.service import record
from medsign.console.models import SignerTemplate
from medsign.console.schemas import PolicyRow, TimelineEntry
from medsign.documents.models import Document
from medsign.documents.service import PreparedDocument, create_document
from medsign.domain.contacts import normalize_email, normalize_phone
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
from medsign.errors import Conflict, InvalidInput, NotFound
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


def patient_signer(
    name: str, contact: str, method: str = "", *, order: int = 1, role: str = "patient"
) -> SignerIn:
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
        role=role,
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
    copies: Sequence[SignerIn] = (),
) -> Envelope:
    """Store the document and send it; with ``seal_first`` the organization's seal signs
    for the clinic first (order 1) and the patient is invited after it (order 2);
    ``copies`` (viewers) receive the signed copy after the patient."""
    require(actor, Action.SEND)
    signers = [signer]
    if seal_first:
        clinic = SignerIn(role="clinic", name=CLINIC_SIGNER, method=Method.SEAL.value, order=1)
        signers = [clinic, signer.model_copy(update={"order": 2})]
    last = signers[-1].order
    signers += [c.model_copy(update={"order": last + 1}) for c in copies]
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


def _template_query(actor: Actor) -> Select[SignerTemplate]:
    query = select(SignerTemplate).where(SignerTemplate.organization_id == actor.organization_id)
    if actor.branch_id is not None:
        query = query.where(
            (SignerTemplate.branch_id == actor.branch_id) | SignerTemplate.branch_id.is_(None)
        )
    return query


def list_templates(session: Session, actor: Actor) -> list[SignerTemplate]:
    """The signer templates the actor may use (their branch's and the organization's)."""
    return list(session.scalars(_template_query(actor).order_by(SignerTemplate.name).limit(200)))


def get_template(session: Session, actor: Actor, template_id: str) -> SignerTemplate:
    """One usable template, or NotFound."""
    found = session.scalars(_template_query(actor).where(SignerTemplate.id == template_id)).first()
    if found is None:
        raise NotFound("No such signer template; choose one from the list.")
    return found


def template_copies(template: SignerTemplate) -> list[SignerIn]:
    """The template's copy recipients as viewer signers."""
    return [patient_signer(c["name"], c["contact"], role="viewer") for c in template.copies]


def save_template(
    session: Session,
    actor: Actor,
    name: str,
    *,
    seal_first: bool,
    copies: list[tuple[str, str]],
    now: datetime,
) -> SignerTemplate:
    """Save a signer template (names are unique in the organization)."""
    require(actor, Action.SEND)
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise InvalidInput("The template name must be 1 to 100 characters.", field="name")
    kept = [(n.strip(), c.strip()) for n, c in copies if n.strip() or c.strip()]
    for copy_name, contact in kept:
        viewer = patient_signer(copy_name, contact, role="viewer")
        if viewer.phone:
            normalize_phone(viewer.phone)
        if viewer.email:
            normalize_email(viewer.email)
    taken = session.scalar(
        select(SignerTemplate.id).where(
            SignerTemplate.organization_id == actor.organization_id, SignerTemplate.name == name
        )
    )
    if taken is not None:
        raise Conflict(f"A signer template named {name!r} exists already.", field="name")
    template = SignerTemplate(
        organization_id=actor.organization_id,
        branch_id=actor.branch_id,
        name=name,
        seal_first=seal_first,
        copies=[{"name": n, "contact": c} for n, c in kept],
        created_by=actor.staff_id,
        created_at=now,
    )
    session.add(template)
    session.flush()
    record(
        session,
        actor.organization_id,
        "signer_template.created",
        at=now,
        actor=actor.audit_name,
        data={"template_id": template.id, "copies": len(kept), "seal_first": seal_first},
    )
    return template


def delete_template(session: Session, actor: Actor, template_id: str, *, now: datetime) -> None:
    """Delete a signer template (envelopes sent with it keep their signers)."""
    require(actor, Action.SEND)
    template = get_template(session, actor, template_id)
    session.delete(template)
    record(
        session,
        actor.organization_id,
        "signer_template.deleted",
        at=now,
        actor=actor.audit_name,
        data={"template_id": template_id},
    )
