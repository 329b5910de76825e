"""Holds on online slots: the rows behind "held while the patient signs the consent"
(docs/cabinet.md "Online visits"; the flows are in :mod:`medsign.schedule.consent_hold`).

A hold counts while ``expires_at`` is in the future; every check compares it with now,
so an expired hold needs no sweeper. Every change to a slot's hold happens under that
slot's row lock (docs/concurrency.md: slot row, then its hold row), and the unique
``slot_id`` keeps one holder per slot even if a lock were missed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, exists, select, update
from sqlalchemy.orm import Session

from medsign.errors import Conflict
from medsign.schedule.models import ScheduleSlot, SlotHold

HELD = (
    "This time is held for another patient for a few minutes while they sign the "
    "telemedicine consent. Pick another one."
)


class HoldOutcome(StrEnum):
    """What became of a hold once it let go of its slot (shown once in the cabinet)."""

    BOOKED = "booked"  # the consent was signed and the slot booked for the holder
    LOST = "lost"  # the time went to another patient, was withdrawn or passed


def hold_of(session: Session, slot_id: str) -> SlotHold | None:
    """The pending hold on a slot, read afresh and locked (the caller holds the slot's
    lock, so this row cannot change under it; ``populate_existing``: not a stale copy)."""
    return session.scalars(
        select(SlotHold)
        .where(SlotHold.slot_id == slot_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def is_live(hold: SlotHold, now: datetime) -> bool:
    """True while the hold keeps the slot for its patient."""
    return hold.expires_at > now


def refuse_if_held(hold: SlotHold | None, patient_id: str, now: datetime) -> None:
    """409 (``state`` held) when another patient's hold on the slot is live."""
    if hold is not None and hold.patient_id != patient_id and is_live(hold, now):
        raise Conflict(HELD, state="held")


def let_go(
    session: Session,
    hold: SlotHold,
    outcome: HoldOutcome,
    *,
    appointment_id: str | None = None,
) -> None:
    """Settle ``hold``: it frees its slot (flushed now, so a new hold on the same slot in
    this transaction meets no unique conflict) and waits to be shown to the patient."""
    hold.slot_id = None
    hold.outcome = outcome.value
    hold.appointment_id = appointment_id
    session.flush()


def let_go_of_slots(session: Session, slot_ids: Iterable[str]) -> None:
    """The clinic withdrew these slots: their holds are lost (before the rows go)."""
    ids = list(slot_ids)
    if ids:
        session.execute(
            update(SlotHold)
            .where(SlotHold.slot_id.in_(ids))
            .values(slot_id=None, outcome=HoldOutcome.LOST.value)
        )


def held_by_others(patient_ids: Iterable[str], now: datetime) -> ColumnElement[bool]:
    """A filter on ``ScheduleSlot``: a live hold of a patient not in ``patient_ids``
    keeps the slot (uses the unique index on ``slot_id``)."""
    return exists(
        select(SlotHold.id).where(
            SlotHold.slot_id == ScheduleSlot.id,
            SlotHold.expires_at > now,
            SlotHold.patient_id.not_in(list(patient_ids)),
        )
    )


def own_live_holds(session: Session, account_id: str, now: datetime) -> dict[str, datetime]:
    """The account's live holds: slot id -> until when."""
    rows = session.execute(
        select(SlotHold.slot_id, SlotHold.expires_at).where(
            SlotHold.account_id == account_id,
            SlotHold.slot_id.is_not(None),
            SlotHold.expires_at > now,
        )
    )
    return {slot_id: until for slot_id, until in rows if slot_id is not None}
