"""Record requests (docs/cabinet.md "Record requests").

The deadline follows the order of the Russian Ministry of Health No. 789n of 31 July 2020
("on the procedure and terms of providing medical documents, their copies and extracts"),
item 12: copies are issued within at most 30 days of the request being registered. An
organization may set a shorter deadline, never a longer one.

Issued records are a document of kind ``medical_record`` in an envelope with one clinic
signer of method ``seal`` (DESIGN.md policy), sealed at once by the seal job, so the copy
the patient downloads carries the organization's PAdES seal.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from medsign.cabinet.models import PatientLink
from medsign.documents.service import PreparedDocument, create_document
from medsign.domain.policy import Method, Role
from medsign.domain.tokens import Keyring
from medsign.envelopes.schemas import EnvelopeIn, SealIn, SignerIn
from medsign.envelopes.service import create_envelope
from medsign.envelopes.signer_actions import apply_seal
from medsign.errors import Conflict, InvalidInput, NotFound
from medsign.events.service import emit
from medsign.organizations.models import Organization
from medsign.patients.models import Patient
from medsign.records.models import RecordRequest, RecordSettings
from medsign.records.schemas import DELIVERIES, RecordRequestOut
from medsign.storage.ports import BlobStore

LEGAL_DEADLINE_DAYS = 30  # order 789n of 31 July 2020, item 12
OPEN, ISSUED = "open", "issued"


def deadline_days(session: Session, organization_id: str) -> int:
    """The organization's deadline in days (30 unless it set a shorter one)."""
    row = session.get(RecordSettings, organization_id)
    return row.deadline_days if row is not None else LEGAL_DEADLINE_DAYS


def set_deadline(session: Session, organization_id: str, days: int) -> int:
    """Set the deadline (1..30 days, checked by the schema)."""
    row = session.get(RecordSettings, organization_id, with_for_update=True)
    if row is None:
        row = RecordSettings(organization_id=organization_id, deadline_days=days)
        session.add(row)
    row.deadline_days = days
    session.flush()
    return row.deadline_days


def _event_data(request: RecordRequest, patient: Patient) -> dict[str, object]:
    return {
        "record_request_id": request.id,
        "patient_mis_id": patient.mis_id,
        "what": request.what,
        "period_from": request.period_from.isoformat() if request.period_from else None,
        "period_to": request.period_to.isoformat() if request.period_to else None,
        "delivery": request.delivery,
        "due_at": request.due_at.isoformat(),
        "envelope_id": request.envelope_id,
    }


def request_records(
    session: Session,
    account_id: str,
    link_id: str,
    *,
    what: str,
    period_from: date | None,
    period_to: date | None,
    delivery: str,
    now: datetime,
) -> RecordRequest:
    """The patient asks an attached clinic for copies; the MIS gets
    ``record_request.created`` with the deadline."""
    link = session.get(PatientLink, link_id)
    if link is None or link.account_id != account_id or link.detached_at is not None:
        raise NotFound("Pick one of your clinics.", field="clinic")
    text = what.strip()
    if len(text) < 3:
        raise InvalidInput("Say which records you need.", field="what")
    if delivery not in DELIVERIES:
        raise InvalidInput("Pick how to receive the copies.", field="delivery")
    if period_from and period_to and period_from > period_to:
        raise InvalidInput("The period ends before it starts.", field="period_to")
    if any(d is not None and d > now.date() for d in (period_from, period_to)):
        raise InvalidInput("The period is in the future.", field="period_from")
    request = RecordRequest(
        organization_id=link.organization_id,
        patient_id=link.patient_id,
        account_id=account_id,
        what=text[:2000],
        period_from=period_from,
        period_to=period_to,
        delivery=delivery,
        status=OPEN,
        created_at=now,
        due_at=now + timedelta(days=deadline_days(session, link.organization_id)),
    )
    session.add(request)
    session.flush()
    patient = session.get(Patient, link.patient_id)
    assert patient is not None
    emit(
        session,
        request.organization_id,
        "record_request.created",
        at=now,
        data=_event_data(request, patient),
    )
    return request


def request_out(session: Session, request: RecordRequest, now: datetime) -> RecordRequestOut:
    """The API shape; ``overdue`` when still open after the deadline."""
    patient = session.get(Patient, request.patient_id)
    assert patient is not None
    return RecordRequestOut(
        id=request.id,
        patient_mis_id=patient.mis_id,
        what=request.what,
        period_from=request.period_from,
        period_to=request.period_to,
        delivery=request.delivery,
        status=request.status,
        created_at=request.created_at,
        due_at=request.due_at,
        overdue=request.status == OPEN and request.due_at <= now,
        issued_at=request.issued_at,
        envelope_id=request.envelope_id,
    )


def list_requests(
    session: Session,
    organization_id: str,
    *,
    status: str | None,
    overdue: bool | None,
    now: datetime,
) -> list[RecordRequest]:
    """The organization's requests, nearest deadline first, filtered."""
    query = select(RecordRequest).where(RecordRequest.organization_id == organization_id)
    if status is not None:
        query = query.where(RecordRequest.status == status)
    if overdue is True:
        query = query.where(RecordRequest.status == OPEN, RecordRequest.due_at <= now)
    elif overdue is False:
        query = query.where(~((RecordRequest.status == OPEN) & (RecordRequest.due_at <= now)))
    return list(session.scalars(query.order_by(RecordRequest.due_at, RecordRequest.id).limit(500)))


def get_request(
    session: Session, organization_id: str, request_id: str, *, lock: bool = False
) -> RecordRequest:
    """The organization's request, or NotFound."""
    query = select(RecordRequest).where(
        RecordRequest.id == request_id, RecordRequest.organization_id == organization_id
    )
    found = session.scalars(query.with_for_update() if lock else query).first()
    if found is None:
        raise NotFound("No record request with this id in this organization.")
    return found


def issue_records(
    session: Session,
    files: BlobStore,
    keyring: Keyring,
    organization_id: str,
    request_id: str,
    prepared: PreparedDocument,
    *,
    staff_name: str,
    ttl: timedelta,
    now: datetime,
) -> RecordRequest:
    """Store the records (already through intake), seal them with the organization's
    seal and issue them to the patient's cabinet; 409 when already issued."""
    request = get_request(session, organization_id, request_id, lock=True)
    if request.status != OPEN:
        raise Conflict("These records have been issued already.")
    org = session.get(Organization, organization_id)
    patient = session.get(Patient, request.patient_id)
    assert org is not None and patient is not None
    doc = create_document(session, files, organization_id, prepared=prepared, now=now)
    env = create_envelope(
        session,
        keyring,
        organization_id,
        EnvelopeIn(
            document_id=doc.id,
            signers=[
                SignerIn.model_validate(
                    {"role": Role.CLINIC.value, "name": org.name, "method": Method.SEAL.value}
                )
            ],
        ),
        now=now,
        default_ttl=ttl,
        default_lang="ru",
    )
    apply_seal(
        session,
        organization_id,
        env.id,
        env.signers[0].id,
        SealIn(staff_name=staff_name),
        now=now,
    )
    request.status = ISSUED
    request.issued_at = now
    request.envelope_id = env.id
    session.flush()
    emit(
        session,
        organization_id,
        "record_request.issued",
        at=now,
        data=_event_data(request, patient),
    )
    return request


def flag_overdue(session: Session, *, now: datetime) -> int:
    """Flag open requests past their deadline once each: ``record_request.overdue``."""
    rows = list(
        session.scalars(
            select(RecordRequest)
            .where(
                RecordRequest.status == OPEN,
                RecordRequest.due_at <= now,
                RecordRequest.overdue_at.is_(None),
            )
            .order_by(RecordRequest.due_at)
            .limit(200)
            .with_for_update(skip_locked=True)
        )
    )
    for request in rows:
        request.overdue_at = now
        patient = session.get(Patient, request.patient_id)
        assert patient is not None
        emit(
            session,
            request.organization_id,
            "record_request.overdue",
            at=now,
            data=_event_data(request, patient),
        )
    return len(rows)


def requests_of(session: Session, account_id: str) -> list[tuple[RecordRequest, str]]:
    """The account's requests with their clinic's name, newest first."""
    rows = session.execute(
        select(RecordRequest, Organization.name)
        .join(Organization, Organization.id == RecordRequest.organization_id)
        .where(RecordRequest.account_id == account_id)
        .order_by(RecordRequest.created_at.desc(), RecordRequest.id)
    ).all()
    return [(r, name) for r, name in rows]


def own_request(session: Session, account_id: str, request_id: str) -> RecordRequest:
    """The account's request, or NotFound."""
    found = session.get(RecordRequest, request_id)
    if found is None or found.account_id != account_id:
        raise NotFound("There is no such request in your cabinet.")
    return found
