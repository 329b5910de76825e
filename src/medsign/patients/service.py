"""Patients (upsert by MIS id) and EDO agreements: creation, status, revocation.

An EDO agreement is the patient's consent to simple electronic signatures with one
organization (63-FZ art. 6 part 2); while it is valid, one-time-code methods may sign
contract-like documents (DESIGN.md "Signature levels and policy").
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.domain.contacts import normalize_email, normalize_phone
from medsign.domain.tokens import Keyring
from medsign.errors import Conflict, InvalidInput, LinkExpired, NotFound
from medsign.events.service import emit
from medsign.jobs.outbox import JobKind, enqueue
from medsign.patients.models import EdoAgreement, Patient
from medsign.patients.schemas import EdoAgreementOut, PatientIn

EDO_DEFAULT_VALIDITY = timedelta(days=5 * 365)


def upsert_patient(
    session: Session, organization_id: str, body: PatientIn, *, now: datetime
) -> tuple[Patient, bool]:
    """Create or update the patient with ``body.mis_id``; return it and whether it is new."""
    phone = normalize_phone(body.phone) if body.phone else None
    email = normalize_email(body.email) if body.email else None
    if body.birth_date is not None and body.birth_date > now.date():
        raise InvalidInput("`birth_date` is in the future.", field="birth_date")
    patient = find_patient(session, organization_id, body.mis_id, lock=True)
    created = False
    if patient is None:
        patient, created = _insert_or_lock(session, organization_id, body.mis_id, now)
    patient.name = body.name
    if body.birth_date != patient.birth_date:
        # Birthday greetings (medsign.reminders) reschedule through the outbox.
        enqueue(session, JobKind.SCHEDULE, {"patient_id": patient.id}, now=now)
    patient.birth_date = body.birth_date
    patient.phone = phone
    patient.email = email
    patient.preferred_channel = body.preferred_channel
    patient.updated_at = now
    session.flush()
    record(
        session,
        organization_id,
        "patient.created" if created else "patient.updated",
        at=now,
        actor="api",
        data={"patient_id": patient.id},
    )
    return patient, created


def find_patient(
    session: Session, organization_id: str, mis_id: str, *, lock: bool = False
) -> Patient | None:
    """The organization's patient with ``mis_id``, if any."""
    stmt = select(Patient).where(
        Patient.organization_id == organization_id, Patient.mis_id == mis_id
    )
    if lock:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def get_patient(session: Session, organization_id: str, mis_id: str) -> Patient:
    """The patient, or NotFound."""
    patient = find_patient(session, organization_id, mis_id)
    if patient is None:
        raise NotFound(f"No patient with MIS id {mis_id} in this organization.")
    return patient


def _insert_or_lock(
    session: Session, organization_id: str, mis_id: str, now: datetime
) -> tuple[Patient, bool]:
    """Insert the patient ``mis_id``; when a concurrent transaction inserted it first (the
    unique index makes this one wait for it, then refuses), lock and return theirs.

    The insert runs in a savepoint so that losing the race leaves this transaction
    usable (docs/concurrency.md).
    """
    patient = Patient(
        organization_id=organization_id, mis_id=mis_id, name="", created_at=now, updated_at=now
    )
    try:
        with session.begin_nested():
            session.add(patient)
        return patient, True
    except IntegrityError:
        found = find_patient(session, organization_id, mis_id, lock=True)
        if found is None:
            raise
        return found, False


def patient_for_signer(
    session: Session,
    organization_id: str,
    mis_id: str,
    *,
    name: str,
    phone: str | None,
    email: str | None,
    now: datetime,
) -> Patient:
    """The patient a signer refers to; created from the signer's data when unknown."""
    patient = find_patient(session, organization_id, mis_id)
    if patient is not None:
        return patient
    patient, _ = upsert_patient(
        session,
        organization_id,
        PatientIn(mis_id=mis_id, name=name, phone=phone, email=email),
        now=now,
    )
    return patient


def active_agreement(
    session: Session, organization_id: str, patient_id: str, now: datetime
) -> EdoAgreement | None:
    """The valid, unrevoked EDO agreement of a patient, if any."""
    return session.scalars(
        select(EdoAgreement)
        .where(
            EdoAgreement.organization_id == organization_id,
            EdoAgreement.patient_id == patient_id,
            EdoAgreement.revoked_at.is_(None),
            EdoAgreement.valid_from <= now,
            EdoAgreement.valid_until > now,
        )
        .order_by(EdoAgreement.valid_until.desc())
        .limit(1)
    ).first()


def agreement_status(
    session: Session, organization_id: str, mis_id: str, now: datetime
) -> EdoAgreementOut:
    """What the MIS needs to know: is there a valid agreement, and until when."""
    patient = get_patient(session, organization_id, mis_id)
    active = active_agreement(session, organization_id, patient.id, now)
    latest = (
        active
        or session.scalars(
            select(EdoAgreement)
            .where(EdoAgreement.patient_id == patient.id)
            .order_by(EdoAgreement.created_at.desc())
            .limit(1)
        ).first()
    )
    if latest is None:
        return EdoAgreementOut(patient_mis_id=mis_id, status="none")
    status = (
        "active" if latest is active else "revoked" if latest.revoked_at is not None else "expired"
    )
    return EdoAgreementOut(
        patient_mis_id=mis_id,
        status=status,
        agreement_id=latest.id,
        source=latest.source,
        valid_from=latest.valid_from,
        valid_until=latest.valid_until,
        revoked_at=latest.revoked_at,
        attested_by=latest.attested_by,
    )


def create_agreement(
    session: Session,
    organization_id: str,
    patient: Patient,
    *,
    source: str,
    now: datetime,
    valid_until: datetime | None,
    document_id: str | None = None,
    envelope_id: str | None = None,
    attested_by: str | None = None,
) -> EdoAgreement:
    """Record an agreement (from a signed envelope or an attested paper original)."""
    until = valid_until or now + EDO_DEFAULT_VALIDITY
    if until <= now:
        raise InvalidInput("`valid_until` must be in the future.", field="valid_until")
    agreement = EdoAgreement(
        organization_id=organization_id,
        patient_id=patient.id,
        source=source,
        document_id=document_id,
        envelope_id=envelope_id,
        attested_by=attested_by,
        valid_from=now,
        valid_until=until,
        created_at=now,
    )
    session.add(agreement)
    session.flush()
    record(
        session,
        organization_id,
        "edo_agreement.created",
        at=now,
        actor=f"staff:{attested_by}" if attested_by else "system",
        envelope_id=envelope_id,
        data={"agreement_id": agreement.id, "patient_id": patient.id, "source": source},
    )
    emit(
        session,
        organization_id,
        "edo_agreement.created",
        at=now,
        data={"agreement_id": agreement.id, "patient_mis_id": patient.mis_id},
    )
    return agreement


def revoke_agreement(
    session: Session, agreement: EdoAgreement, *, by: str, reason: str | None, now: datetime
) -> None:
    """Revoke an agreement; OTP methods stop being accepted for contract-like kinds."""
    if agreement.revoked_at is not None:
        raise Conflict("This agreement was already revoked.")
    agreement.revoked_at = now
    agreement.revoked_by = by
    agreement.revoke_reason = (reason or "").strip()[:1000] or None
    patient = session.get(Patient, agreement.patient_id)
    assert patient is not None
    record(
        session,
        agreement.organization_id,
        "edo_agreement.revoked",
        at=now,
        actor=by,
        data={"agreement_id": agreement.id, "patient_id": agreement.patient_id},
    )
    emit(
        session,
        agreement.organization_id,
        "edo_agreement.revoked",
        at=now,
        data={"agreement_id": agreement.id, "patient_mis_id": patient.mis_id},
    )


REVOKE_PURPOSE = "edo-revoke"


def revoke_token(keyring: Keyring, agreement_id: str) -> str:
    """The token of the patient's revocation link (agreement id + keyed MAC)."""
    return f"{agreement_id}.{keyring.hash(REVOKE_PURPOSE, agreement_id)[:32]}"


def agreement_by_revoke_token(session: Session, keyring: Keyring, token: str) -> EdoAgreement:
    """The agreement a revocation link points to, or LinkExpired."""
    agreement_id, _, mac = token.partition(".")
    if not mac or len(token) > 120 or not keyring.verify_prefix(REVOKE_PURPOSE, agreement_id, mac):
        raise LinkExpired("This link is not valid.")
    agreement = session.get(EdoAgreement, agreement_id)
    if agreement is None:
        raise LinkExpired("This link is not valid.")
    return agreement
