"""Appointments: create, reschedule, change status, cancel with a reason, restore,
mark results ready; list a patient's appointments.

Every change is audited, sent to webhooks (``appointment.created|updated|cancelled|
restored``) and queues a ``schedule`` job in the same transaction, which recomputes the
appointment's notification times (the outbox is the seam to ``medsign.reminders``,
DESIGN.md "Architecture"). Pages (the patient's cabinet) use the same functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from medsign.appointments.models import Appointment
from medsign.appointments.schemas import (
    AppointmentIn,
    AppointmentOut,
    AppointmentPatch,
    AppointmentStatus,
)
from medsign.audit.service import record
from medsign.branches.scope import current_branch
from medsign.branches.service import resolve_branch
from medsign.domain.local_time import format_local, zone
from medsign.errors import Conflict, InvalidInput, NotFound
from medsign.events.service import emit
from medsign.jobs.outbox import JobKind, enqueue
from medsign.organizations.models import Organization
from medsign.patients.models import Patient
from medsign.patients.service import find_patient

CANCELLED = AppointmentStatus.CANCELLED


def get_appointment(
    session: Session, organization_id: str, mis_id: str, *, lock: bool = False
) -> Appointment:
    """The organization's appointment ``mis_id`` (a branch token sees its branch's), or
    NotFound."""
    query = select(Appointment).where(
        Appointment.organization_id == organization_id, Appointment.mis_id == mis_id
    )
    if (branch := current_branch()) is not None:
        query = query.where(Appointment.branch_id == branch)
    if lock:
        query = query.with_for_update()
    found = session.scalars(query).first()
    if found is None:
        raise NotFound(f"No appointment with MIS id {mis_id} in this organization.")
    return found


def create_appointment(
    session: Session,
    organization_id: str,
    body: AppointmentIn,
    *,
    now: datetime,
    actor: str = "api",
    extra: Mapping[str, object] | None = None,
) -> Appointment:
    """Record a new appointment of a known patient (422 for an unknown one, 409 when the
    MIS id is taken: change it with PATCH). ``extra`` goes into the webhook's data (the
    booked slot, for a booking from the cabinet)."""
    patient = find_patient(session, organization_id, body.patient_mis_id)
    if patient is None:
        raise InvalidInput(
            f"No patient with MIS id {body.patient_mis_id} in this organization; "
            "create the patient first (POST /api/v1/patients).",
            field="patient_mis_id",
        )
    if body.status == CANCELLED:
        raise InvalidInput(
            "A new appointment cannot be cancelled; create it, then cancel it with a reason.",
            field="status",
        )
    branch_id = resolve_branch(session, organization_id, body.branch_id)
    appointment = Appointment(
        organization_id=organization_id,
        branch_id=branch_id,
        patient_id=patient.id,
        mis_id=body.mis_id,
        starts_at=body.starts_at,
        doctor=body.doctor,
        service=body.service,
        telemedicine=body.telemedicine,
        status=body.status.value,
        status_changed_at=now,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():  # losing a race for the MIS id leaves us usable
            session.add(appointment)
    except IntegrityError:
        raise Conflict(
            f"An appointment with MIS id {body.mis_id} exists; change it with "
            f"PATCH /api/v1/appointments/{body.mis_id}.",
            field="mis_id",
        ) from None
    _changed(
        session, appointment, patient, "appointment.created", now=now, actor=actor, extra=extra
    )
    return appointment


def update_appointment(
    session: Session,
    organization_id: str,
    mis_id: str,
    patch: AppointmentPatch,
    *,
    now: datetime,
    actor: str = "api",
) -> Appointment:
    """Apply ``patch`` (see :class:`AppointmentPatch`); 409 when the appointment's state
    does not allow it (cancelling or restoring a past appointment, editing a cancelled
    one without restoring it)."""
    appointment = get_appointment(session, organization_id, mis_id, lock=True)
    if patch.status == CANCELLED:
        if appointment.status == CANCELLED:
            raise Conflict("This appointment is already cancelled.")
        if any(v is not None for v in (patch.starts_at, patch.doctor, patch.service)):
            raise InvalidInput("Cancel an appointment without changing it.", field="status")
        cancel_appointment(session, appointment, patch.reason, actor=actor, now=now)
        return appointment
    if patch.reason is not None:
        raise InvalidInput("`reason` goes with `status: cancelled`.", field="reason")
    restoring = appointment.status == CANCELLED
    if restoring and patch.status is None:
        raise Conflict("This appointment is cancelled; restore it with `status: scheduled` first.")
    before = _editable(appointment)
    if patch.starts_at is not None:
        appointment.starts_at = patch.starts_at
    if patch.doctor is not None:
        appointment.doctor = patch.doctor
    if patch.service is not None:
        appointment.service = patch.service
    if patch.telemedicine is not None:
        appointment.telemedicine = patch.telemedicine
    if restoring:
        assert patch.status is not None
        restore_appointment(session, appointment, patch.status, actor=actor, now=now)
        return appointment
    if patch.status is not None and patch.status.value != appointment.status:
        appointment.status = patch.status.value
        appointment.status_changed_at = now
    if _editable(appointment) == before:
        return appointment  # nothing changed: no event, nothing to reschedule
    appointment.updated_at = now
    patient = session.get(Patient, appointment.patient_id)
    assert patient is not None
    _changed(session, appointment, patient, "appointment.updated", now=now, actor=actor)
    return appointment


def _editable(appointment: Appointment) -> tuple[object, ...]:
    """What a PATCH may change (to tell a change from a repeat of the same data)."""
    return (
        appointment.starts_at,
        appointment.doctor,
        appointment.service,
        appointment.telemedicine,
        appointment.status,
    )


def cancel_appointment(
    session: Session, appointment: Appointment, reason: str | None, *, actor: str, now: datetime
) -> None:
    """Cancel with a reason (free text, kept and sent as ``data.reason``); an appointment
    that has begun cannot be cancelled (409)."""
    if appointment.status == CANCELLED:
        raise Conflict("This appointment is already cancelled.")
    if appointment.starts_at <= now:
        raise Conflict("This appointment has already begun; it can no longer be cancelled.")
    appointment.status = CANCELLED.value
    appointment.cancel_reason = (reason or "").strip()[:1000] or None
    appointment.cancelled_at = now
    appointment.status_changed_at = now
    appointment.updated_at = now
    patient = session.get(Patient, appointment.patient_id)
    assert patient is not None
    _changed(session, appointment, patient, "appointment.cancelled", now=now, actor=actor)


def restore_appointment(
    session: Session,
    appointment: Appointment,
    status: AppointmentStatus = AppointmentStatus.SCHEDULED,
    *,
    actor: str,
    now: datetime,
) -> None:
    """Undo a cancellation (409 when it is not cancelled or has begun)."""
    if appointment.status != CANCELLED:
        raise Conflict("Only a cancelled appointment can be restored.")
    if appointment.starts_at <= now:
        raise Conflict(
            "This appointment's time has passed; reschedule it (`starts_at`) to restore it."
        )
    appointment.status = status.value
    appointment.cancel_reason = None
    appointment.cancelled_at = None
    appointment.status_changed_at = now
    appointment.updated_at = now
    patient = session.get(Patient, appointment.patient_id)
    assert patient is not None
    _changed(session, appointment, patient, "appointment.restored", now=now, actor=actor)


def set_status_by_rule(
    session: Session, appointment_id: str, status: str, *, now: datetime
) -> None:
    """A notification rule sets the appointment's status after its message went out
    (unless the appointment was cancelled meanwhile). It does not start the rules of
    status changes again, so two rules cannot ping-pong."""
    appointment = session.get(Appointment, appointment_id, with_for_update=True)
    if appointment is None or appointment.status in (CANCELLED.value, status):
        return
    appointment.status = status
    appointment.updated_at = now
    patient = session.get(Patient, appointment.patient_id)
    assert patient is not None
    _changed(
        session,
        appointment,
        patient,
        "appointment.updated",
        now=now,
        actor="rule",
        reschedule=False,
    )


def mark_results_ready(
    session: Session, organization_id: str, mis_id: str, *, now: datetime
) -> Appointment:
    """The results of the appointment (lab, imaging) are ready: starts the rules of the
    ``results.ready`` event."""
    appointment = get_appointment(session, organization_id, mis_id, lock=True)
    appointment.results_ready_at = now
    appointment.updated_at = now
    patient = session.get(Patient, appointment.patient_id)
    assert patient is not None
    _changed(session, appointment, patient, "appointment.updated", now=now, actor="api")
    return appointment


def list_for_patient(
    session: Session, organization_id: str, patient_mis_id: str
) -> list[Appointment]:
    """The patient's appointments, earliest first (NotFound for an unknown patient)."""
    patient = find_patient(session, organization_id, patient_mis_id)
    if patient is None:
        raise NotFound(f"No patient with MIS id {patient_mis_id} in this organization.")
    query = select(Appointment).where(Appointment.patient_id == patient.id)
    if (branch := current_branch()) is not None:
        query = query.where(Appointment.branch_id == branch)
    return list(session.scalars(query.order_by(Appointment.starts_at, Appointment.id)))


def list_for_patients(session: Session, patient_ids: Sequence[str]) -> list[Appointment]:
    """Appointments of several patient rows (one person's cards at several clinics, as
    the cabinet shows them), earliest first."""
    if not patient_ids:
        return []
    return list(
        session.scalars(
            select(Appointment)
            .where(Appointment.patient_id.in_(list(patient_ids)))
            .order_by(Appointment.starts_at, Appointment.id)
        )
    )


def appointment_out(session: Session, appointment: Appointment) -> AppointmentOut:
    """The API shape, with the time on the clinic's clocks."""
    org = session.get(Organization, appointment.organization_id)
    patient = session.get(Patient, appointment.patient_id)
    assert org is not None and patient is not None
    tz_name = org.time_zone or "UTC"
    return AppointmentOut(
        id=appointment.id,
        mis_id=appointment.mis_id,
        patient_mis_id=patient.mis_id,
        starts_at=appointment.starts_at,
        local_starts_at=format_local(appointment.starts_at, zone(tz_name)),
        time_zone=tz_name,
        doctor=appointment.doctor,
        service=appointment.service,
        telemedicine=appointment.telemedicine,
        branch_id=appointment.branch_id,
        status=AppointmentStatus(appointment.status),
        cancel_reason=appointment.cancel_reason,
        cancelled_at=appointment.cancelled_at,
        results_ready_at=appointment.results_ready_at,
        created_at=appointment.created_at,
        updated_at=appointment.updated_at,
    )


def _changed(
    session: Session,
    appointment: Appointment,
    patient: Patient,
    event: str,
    *,
    now: datetime,
    actor: str,
    reschedule: bool = True,
    extra: Mapping[str, object] | None = None,
) -> None:
    """Audit, webhook and (re)schedule one change, in the caller's transaction."""
    session.flush()
    data: dict[str, object] = {
        "appointment_id": appointment.id,
        "mis_id": appointment.mis_id,
        "patient_mis_id": patient.mis_id,
        "status": appointment.status,
        "starts_at": appointment.starts_at.isoformat(),
        "branch_id": appointment.branch_id,
    }
    if event == "appointment.cancelled":
        data["reason"] = appointment.cancel_reason
    data.update(extra or {})
    record(session, appointment.organization_id, event, at=now, actor=actor, data=dict(data))
    emit(session, appointment.organization_id, event, at=now, data=data)
    payload = {"appointment_id": appointment.id, "status_rules": reschedule}
    enqueue(session, JobKind.SCHEDULE, payload, now=now)
