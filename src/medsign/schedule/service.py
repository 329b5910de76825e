"""Publishing the schedule (MIS) and booking, listing and cancelling visits (cabinet).

Booking reuses :mod:`medsign.appointments.service`, so a visit booked in the cabinet is
an ordinary appointment: the MIS gets ``appointment.created`` (with the slot's MIS id)
and, when the patient cancels, ``appointment.cancelled`` with the reason.

Locks, in this order (docs/concurrency.md): the organization row (one publish at a
time), then slot rows, then a slot's hold (medsign.schedule.holds); booking locks the
slot row, then its hold; cancelling the appointment row, then its slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from medsign.appointments.models import Appointment
from medsign.appointments.schemas import AppointmentIn, AppointmentStatus
from medsign.appointments.service import cancel_appointment, create_appointment
from medsign.branches.service import require_organization_scope, resolve_branch
from medsign.cabinet.attach import live_links
from medsign.cabinet.models import PatientLink
from medsign.db.base import new_id
from medsign.domain.local_time import format_local, zone
from medsign.errors import Conflict, InvalidInput, NotFound
from medsign.organizations.models import Organization
from medsign.patients.models import Patient
from medsign.schedule.holds import (
    HoldOutcome,
    held_by_others,
    hold_of,
    let_go,
    let_go_of_slots,
    own_live_holds,
    refuse_if_held,
)
from medsign.schedule.models import ScheduleDoctor, ScheduleService, ScheduleSlot
from medsign.schedule.schemas import DoctorIn, ScheduleIn, ScheduleOut, ServiceIn, SlotOut
from medsign.schedule.telemedicine import required_settings, signed_consent

FREE_SLOTS_SHOWN = 60  # per clinic: a phone screen's worth, the nearest first


def publish_schedule(
    session: Session, organization_id: str, body: ScheduleIn, *, now: datetime
) -> None:
    """Replace the published doctors, services and slots with ``body``.

    Free slots missing from ``body`` are withdrawn; a booked slot keeps its appointment
    (the MIS changes that appointment with ``PATCH /api/v1/appointments``).
    """
    require_organization_scope("publish the schedule")
    session.get(Organization, organization_id, with_for_update=True)
    session.execute(delete(ScheduleDoctor).where(ScheduleDoctor.organization_id == organization_id))
    session.execute(
        delete(ScheduleService).where(ScheduleService.organization_id == organization_id)
    )
    session.add_all(
        ScheduleDoctor(
            organization_id=organization_id, mis_id=d.mis_id, name=d.name, specialty=d.specialty
        )
        for d in body.doctors
    )
    remote = {s.mis_id for s in body.services if s.telemedicine}
    session.add_all(
        ScheduleService(
            organization_id=organization_id,
            mis_id=s.mis_id,
            name=s.name,
            telemedicine=s.telemedicine,
        )
        for s in body.services
    )
    wanted = {slot.mis_id: slot for slot in body.slots}
    existing = {
        slot.mis_id: slot
        for slot in session.scalars(
            select(ScheduleSlot)
            .where(ScheduleSlot.organization_id == organization_id)
            .with_for_update()
        )
    }
    withdrawn = [
        row
        for mis_id, row in existing.items()
        if mis_id not in wanted and row.appointment_id is None
    ]
    let_go_of_slots(session, (row.id for row in withdrawn))
    for row in withdrawn:
        session.delete(row)
    for mis_id, slot in wanted.items():
        branch_id = resolve_branch(session, organization_id, slot.branch_id)
        found = existing.get(mis_id)
        if found is None:
            found = ScheduleSlot(organization_id=organization_id, mis_id=mis_id)
            session.add(found)
        elif found.appointment_id is not None:
            continue  # taken: the appointment is the truth now
        found.branch_id = branch_id
        found.doctor_mis_id = slot.doctor_mis_id
        found.service_mis_id = slot.service_mis_id
        found.starts_at = slot.starts_at
        found.telemedicine = slot.service_mis_id in remote
    session.flush()


def schedule_out(session: Session, organization_id: str) -> ScheduleOut:
    """What the organization publishes now, times also on the clinic's clocks."""
    org = session.get(Organization, organization_id)
    assert org is not None
    tz_name = org.time_zone or "UTC"
    tz = zone(tz_name)
    doctors = session.scalars(
        select(ScheduleDoctor)
        .where(ScheduleDoctor.organization_id == organization_id)
        .order_by(ScheduleDoctor.name, ScheduleDoctor.mis_id)
    )
    services = session.scalars(
        select(ScheduleService)
        .where(ScheduleService.organization_id == organization_id)
        .order_by(ScheduleService.name, ScheduleService.mis_id)
    )
    rows = session.execute(
        select(ScheduleSlot, Appointment.mis_id)
        .outerjoin(Appointment, Appointment.id == ScheduleSlot.appointment_id)
        .where(ScheduleSlot.organization_id == organization_id)
        .order_by(ScheduleSlot.starts_at, ScheduleSlot.mis_id)
    ).all()
    return ScheduleOut(
        time_zone=tz_name,
        doctors=[DoctorIn(mis_id=d.mis_id, name=d.name, specialty=d.specialty) for d in doctors],
        services=[
            ServiceIn(mis_id=s.mis_id, name=s.name, telemedicine=s.telemedicine) for s in services
        ],
        slots=[
            SlotOut(
                mis_id=slot.mis_id,
                doctor_mis_id=slot.doctor_mis_id,
                service_mis_id=slot.service_mis_id,
                starts_at=slot.starts_at,
                local_starts_at=format_local(slot.starts_at, tz),
                telemedicine=slot.telemedicine,
                branch_id=slot.branch_id,
                appointment_mis_id=taken,
            )
            for slot, taken in rows
        ],
    )


# -- the cabinet's side ---------------------------------------------------------------


@dataclass(frozen=True)
class FreeSlot:
    """A slot the patient may book, as the cabinet shows it."""

    id: str
    organization_name: str
    doctor: str
    specialty: str | None
    service: str
    local_time: str
    telemedicine: bool
    held_until: str | None = None  # held for this patient (an online visit) until then


class VisitState(StrEnum):
    """Where a visit stands in the cabinet's list."""

    UPCOMING = "upcoming"
    PAST = "past"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class VisitView:
    """One appointment in the cabinet: doctor, service, time on the clinic's clocks."""

    id: str
    organization_name: str
    doctor: str
    service: str
    local_time: str
    time_zone: str
    telemedicine: bool
    state: VisitState
    cancel_reason: str | None


def _patients_of(session: Session, account_id: str) -> dict[str, Organization]:
    """The account's attached cards (patient id -> its organization)."""
    return {link.patient_id: org for link, org in live_links(session, account_id)}


def free_slots(session: Session, account_id: str, *, now: datetime) -> list[FreeSlot]:
    """Free future slots of every clinic the account is attached to, nearest first;
    a slot another patient holds is not free, one the account holds says until when."""
    found: list[FreeSlot] = []
    cards = _patients_of(session, account_id)
    mine = own_live_holds(session, account_id, now)
    for org in {org.id: org for org in cards.values()}.values():
        tz = zone(org.time_zone)
        doctors = {
            d.mis_id: d
            for d in session.scalars(
                select(ScheduleDoctor).where(ScheduleDoctor.organization_id == org.id)
            )
        }
        services = {
            s.mis_id: s
            for s in session.scalars(
                select(ScheduleService).where(ScheduleService.organization_id == org.id)
            )
        }
        slots = session.scalars(
            select(ScheduleSlot)
            .where(
                ScheduleSlot.organization_id == org.id,
                ScheduleSlot.appointment_id.is_(None),
                ScheduleSlot.starts_at > now,
                ~held_by_others(cards, now),
            )
            .order_by(ScheduleSlot.starts_at, ScheduleSlot.mis_id)
            .limit(FREE_SLOTS_SHOWN)
        )
        for slot in slots:
            doctor, service = doctors.get(slot.doctor_mis_id), services.get(slot.service_mis_id)
            if doctor is None or service is None:
                continue
            found.append(
                FreeSlot(
                    id=slot.id,
                    organization_name=org.name,
                    doctor=doctor.name,
                    specialty=doctor.specialty,
                    service=service.name,
                    local_time=format_local(slot.starts_at, tz),
                    telemedicine=slot.telemedicine,
                    held_until=format_local(mine[slot.id], tz) if slot.id in mine else None,
                )
            )
    return found


def open_slot(
    session: Session, account_id: str, slot_id: str, *, lock: bool = False
) -> tuple[ScheduleSlot, Patient]:
    """A slot of a clinic the account is attached to, with the account's card there
    (NotFound for anything else)."""
    query = select(ScheduleSlot).where(ScheduleSlot.id == slot_id)
    slot = session.scalars(query.with_for_update() if lock else query).first()
    patient = None
    if slot is not None:
        patient = session.scalars(
            select(Patient)
            .join(PatientLink, PatientLink.patient_id == Patient.id)
            .where(
                PatientLink.account_id == account_id,
                PatientLink.detached_at.is_(None),
                PatientLink.organization_id == slot.organization_id,
            )
        ).first()
    if slot is None or patient is None:
        raise NotFound("There is no such time to book. Pick one from the list.")
    return slot, patient


def consent_gate(session: Session, account_id: str, slot_id: str) -> Patient | None:
    """The card that must sign the telemedicine consent before booking this slot (an
    online visit without a signed consent), else None."""
    slot, patient = open_slot(session, account_id, slot_id)
    if not slot.telemedicine or slot.appointment_id is not None:
        return None
    required_settings(session, slot.organization_id)
    return None if signed_consent(session, slot.organization_id, patient) else patient


def book_slot(session: Session, account_id: str, slot_id: str, *, now: datetime) -> Appointment:
    """Book a free slot for the account's card at that clinic.

    The slot row is locked first, so of two patients pressing "Book" at once one gets
    the appointment and the other a 409 (the slot is taken).
    """
    slot, patient = open_slot(session, account_id, slot_id, lock=True)
    return book_locked(session, slot, patient, actor=f"cabinet:{account_id}", now=now)


def refuse_unbookable(slot: ScheduleSlot, now: datetime) -> None:
    """409 for a slot already taken or in the past."""
    if slot.appointment_id is not None:
        raise Conflict("This time has just been taken. Pick another one.", state="taken")
    if slot.starts_at <= now:
        raise Conflict("This time has passed. Pick a later one.", state="passed")


def book_locked(
    session: Session, slot: ScheduleSlot, patient: Patient, *, actor: str, now: datetime
) -> Appointment:
    """Book ``slot``, whose row the caller has locked, for ``patient``: 409 when it is
    taken, past, or held by another patient; an online visit needs the signed consent.
    The patient's own hold on it ends; another patient's expired one is lost."""
    refuse_unbookable(slot, now)
    hold = hold_of(session, slot.id)
    refuse_if_held(hold, patient.id, now)
    extra: dict[str, object] = {
        "booked_by": "patient",
        "slot_mis_id": slot.mis_id,
        "doctor_mis_id": slot.doctor_mis_id,
        "service_mis_id": slot.service_mis_id,
    }
    if slot.telemedicine:
        required_settings(session, slot.organization_id)
        consent = signed_consent(session, slot.organization_id, patient)
        if consent is None:
            raise Conflict(
                "An online visit needs the telemedicine consent signed with your identity "
                "provider first."
            )
        extra["telemedicine_consent_envelope_id"] = consent.id
    doctor = session.scalars(
        select(ScheduleDoctor).where(
            ScheduleDoctor.organization_id == slot.organization_id,
            ScheduleDoctor.mis_id == slot.doctor_mis_id,
        )
    ).one()
    service = session.scalars(
        select(ScheduleService).where(
            ScheduleService.organization_id == slot.organization_id,
            ScheduleService.mis_id == slot.service_mis_id,
        )
    ).one()
    body = AppointmentIn(
        mis_id=f"medsign-{new_id()}",
        patient_mis_id=patient.mis_id,
        starts_at=slot.starts_at,
        doctor=doctor.name,
        service=service.name,
        telemedicine=slot.telemedicine,
        branch_id=slot.branch_id,
    )
    appointment = create_appointment(
        session, slot.organization_id, body, now=now, actor=actor, extra=extra
    )
    slot.appointment_id = appointment.id
    if hold is not None and hold.patient_id == patient.id:
        session.delete(hold)  # booked by its own holder: nothing left to tell
    elif hold is not None:
        let_go(session, hold, HoldOutcome.LOST)
    session.flush()
    return appointment


def visits_for(session: Session, account_id: str, *, now: datetime) -> list[VisitView]:
    """The account's appointments at every attached clinic: upcoming ones first (nearest
    first), then past and cancelled ones (latest first)."""
    cards = _patients_of(session, account_id)
    if not cards:
        return []
    rows = session.scalars(
        select(Appointment)
        .where(Appointment.patient_id.in_(list(cards)))
        .order_by(Appointment.starts_at, Appointment.id)
    )
    views = []
    for appointment in rows:
        org = cards[appointment.patient_id]
        tz_name = org.time_zone or "UTC"
        if appointment.status == AppointmentStatus.CANCELLED:
            state = VisitState.CANCELLED
        elif appointment.starts_at > now:
            state = VisitState.UPCOMING
        else:
            state = VisitState.PAST
        views.append(
            VisitView(
                id=appointment.id,
                organization_name=org.name,
                doctor=appointment.doctor,
                service=appointment.service,
                local_time=format_local(appointment.starts_at, zone(tz_name)),
                time_zone=tz_name,
                telemedicine=appointment.telemedicine,
                state=state,
                cancel_reason=appointment.cancel_reason,
            )
        )
    upcoming = [v for v in views if v.state is VisitState.UPCOMING]
    rest = [v for v in views if v.state is not VisitState.UPCOMING]
    return upcoming + rest[::-1]


def own_appointment(
    session: Session, account_id: str, appointment_id: str, *, lock: bool = False
) -> Appointment:
    """The account's appointment (through a live link), or NotFound."""
    query = select(Appointment).where(
        Appointment.id == appointment_id,
        Appointment.patient_id.in_(list(_patients_of(session, account_id))),
    )
    found = session.scalars(query.with_for_update() if lock else query).first()
    if found is None:
        raise NotFound("There is no such appointment in your cabinet.")
    return found


def cancel_visit(
    session: Session, account_id: str, appointment_id: str, reason: str, *, now: datetime
) -> Appointment:
    """The patient cancels with a reason (required: the clinic reads it); the slot
    becomes free again. A visit that has begun or passed cannot be cancelled (409)."""
    text = reason.strip()
    if not text:
        raise InvalidInput("Say why you cancel (the clinic reads it).", field="reason")
    appointment = own_appointment(session, account_id, appointment_id, lock=True)
    cancel_appointment(session, appointment, text, actor=f"cabinet:{account_id}", now=now)
    for slot in session.scalars(
        select(ScheduleSlot).where(ScheduleSlot.appointment_id == appointment.id).with_for_update()
    ):
        slot.appointment_id = None
    session.flush()
    return appointment
