"""An online slot held while the patient signs the telemedicine consent, then booked by
that signature (docs/cabinet.md "Online visits"; issue [cabinet] point 6).

"Book" on an online slot without a signed consent holds the slot for the patient for
``MEDSIGN_TELEMEDICINE_HOLD_MINUTES`` and sends them to sign. The consent envelope is
followed (medsign.envelopes.workflow.follow_up): its signature or its end queues a
``follow_up`` job whose handler calls :func:`settle_envelope`, which books the held slot
(``appointment.created`` to the MIS as for any booking) or, for a declined, voided or
expired consent, lets it go. The cabinet's appointments page settles the account's
holds too (:func:`settle_account`), so a patient back from signing sees the visit
booked whether or not the worker has run yet; both paths lock the slot row, so they
can never book twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from medsign.appointments.models import Appointment
from medsign.domain.local_time import format_local, zone
from medsign.domain.states import EnvelopeStatus
from medsign.domain.tokens import Keyring
from medsign.envelopes.models import Envelope
from medsign.errors import DomainError
from medsign.organizations.models import Organization
from medsign.patients.models import Patient
from medsign.schedule.holds import HoldOutcome, hold_of, let_go, refuse_if_held
from medsign.schedule.models import ScheduleSlot, SlotHold
from medsign.schedule.service import book_locked, open_slot, refuse_unbookable
from medsign.schedule.telemedicine import ConsentToSign, consent_to_sign, signed_consent


@dataclass(frozen=True)
class Held:
    """A slot held for the patient: the consent to sign, and until when (the clinic's
    clocks)."""

    consent: ConsentToSign
    until: str


def hold_for_consent(
    session: Session,
    keyring: Keyring,
    account_id: str,
    slot_id: str,
    contact: tuple[str, str],
    *,
    lang: str,
    hold_for: timedelta,
    consent_ttl: timedelta,
    now: datetime,
) -> Held:
    """Hold the slot for the account's card until ``now + hold_for`` and return the
    consent to sign (409 when the slot is taken, past or held by another patient; then
    nothing is written). Pressing "Book" again renews the hold; a patient holds one
    slot at a time, so their other pending holds are let go."""
    slot, patient = open_slot(session, account_id, slot_id, lock=True)
    refuse_unbookable(slot, now)
    hold = hold_of(session, slot.id)
    refuse_if_held(hold, patient.id, now)
    if hold is not None and hold.patient_id != patient.id:
        let_go(session, hold, HoldOutcome.LOST)  # expired: the next patient takes it over
        hold = None
    todo = consent_to_sign(
        session,
        keyring,
        slot.organization_id,
        patient,
        contact,
        lang=lang,
        ttl=consent_ttl,
        now=now,
    )
    session.execute(
        delete(SlotHold).where(
            SlotHold.patient_id == patient.id,
            SlotHold.outcome.is_(None),
            SlotHold.slot_id != slot.id,
        )
    )
    if hold is None:
        hold = SlotHold(
            slot_id=slot.id,
            organization_id=slot.organization_id,
            patient_id=patient.id,
            created_at=now,
        )
        session.add(hold)
    hold.account_id = account_id
    hold.envelope_id = todo.envelope_id
    hold.expires_at = now + hold_for
    session.flush()
    org = session.get(Organization, slot.organization_id)
    assert org is not None
    return Held(todo, format_local(hold.expires_at, zone(org.time_zone)))


def settle_envelope(session: Session, envelope_id: str, *, now: datetime) -> None:
    """The ``follow_up`` of a consent envelope: once its patient has a signed consent,
    book the newest slot held on it (older ones are let go); when it ended unsigned
    (declined, voided, expired), let its holds go. Idempotent: a settled hold is not
    pending any more, so a second run finds nothing."""
    pending = list(
        session.scalars(
            select(SlotHold)
            .where(SlotHold.envelope_id == envelope_id, SlotHold.outcome.is_(None))
            .order_by(SlotHold.created_at.desc(), SlotHold.id)
        )
    )
    if not pending:
        return
    env = session.get(Envelope, envelope_id)
    patient = session.get(Patient, pending[0].patient_id)
    assert env is not None and patient is not None
    if signed_consent(session, env.organization_id, patient) is None:
        if env.status != EnvelopeStatus.SENT.value:  # refused or ended: free the slots
            session.execute(
                delete(SlotHold).where(
                    SlotHold.envelope_id == envelope_id,
                    SlotHold.outcome.is_distinct_from(HoldOutcome.BOOKED.value),
                )
            )
        return  # still to be signed
    newest, *older = pending
    if older:  # one visit per signature: the newest hold wins (a statement, not the ORM:
        # a concurrent settle may have deleted these rows already)
        session.execute(
            delete(SlotHold).where(
                SlotHold.id.in_([h.id for h in older]), SlotHold.outcome.is_(None)
            )
        )
    _book_held(session, newest.id, newest.slot_id, now=now)
    session.flush()


def _book_held(session: Session, hold_id: str, slot_id: str | None, *, now: datetime) -> None:
    """Book a pending hold's slot for its patient, or mark the hold lost."""
    slot = session.scalars(
        select(ScheduleSlot).where(ScheduleSlot.id == slot_id).with_for_update()
    ).first()
    hold = hold_of(session, slot.id) if slot is not None else None
    if slot is None or hold is None or hold.id != hold_id:
        return  # settled meanwhile (booked by the patient, taken over, withdrawn)
    patient = session.get(Patient, hold.patient_id)
    assert patient is not None
    let_go(session, hold, HoldOutcome.BOOKED)  # the slot is no longer held, so book_locked
    try:  # ... sees it free; a Conflict here is a lost race, not a failed job
        with session.begin_nested():
            booked = book_locked(
                session, slot, patient, actor=f"cabinet:{hold.account_id}", now=now
            )
    except DomainError:  # taken, passed, or online visits switched off meanwhile
        hold.outcome = HoldOutcome.LOST.value
        return
    hold.appointment_id = booked.id


def settle_account(session: Session, account_id: str, *, now: datetime) -> None:
    """Settle the account's pending holds (the appointments page, on the patient's
    return from signing: no waiting for the worker)."""
    envelopes = session.scalars(
        select(SlotHold.envelope_id)
        .where(SlotHold.account_id == account_id, SlotHold.outcome.is_(None))
        .distinct()
    ).all()
    for envelope_id in envelopes:
        settle_envelope(session, envelope_id, now=now)


def has_holds(session: Session, account_id: str) -> bool:
    """True when the account has a hold pending or settled and not yet shown."""
    found = session.scalars(
        select(SlotHold.id).where(SlotHold.account_id == account_id).limit(1)
    ).first()
    return found is not None


@dataclass(frozen=True)
class HoldNotice:
    """What became of a hold, shown once: booked (with the visit) or lost."""

    booked: bool
    service: str = ""
    doctor: str = ""
    local_time: str = ""


def take_notices(session: Session, account_id: str) -> list[HoldNotice]:
    """The account's settled holds as notices, deleted as they are taken (shown once)."""
    notices = []
    taken = []
    for hold in session.scalars(
        select(SlotHold)
        .where(SlotHold.account_id == account_id, SlotHold.outcome.is_not(None))
        .order_by(SlotHold.created_at, SlotHold.id)
    ):
        appointment = session.get(Appointment, hold.appointment_id) if hold.appointment_id else None
        if hold.outcome == HoldOutcome.BOOKED.value and appointment is not None:
            org = session.get(Organization, appointment.organization_id)
            assert org is not None
            notices.append(
                HoldNotice(
                    True,
                    appointment.service,
                    appointment.doctor,
                    format_local(appointment.starts_at, zone(org.time_zone)),
                )
            )
        else:
            notices.append(HoldNotice(False))
        taken.append(hold.id)
    if taken:  # a statement: two pages loading at once may both take them
        session.execute(delete(SlotHold).where(SlotHold.id.in_(taken)))
    return notices
