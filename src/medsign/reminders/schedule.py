"""Each target's next fire time under each rule, kept in ``notification_schedule``.

Recomputed when something it depends on changes, never by scanning everything: an
appointment or a patient changed (a ``schedule`` job queued in that transaction by
:mod:`medsign.appointments.service` or :mod:`medsign.patients.service`), a rule was
created (its targets are filled in once), the organization's zone or quiet hours
changed. The scan (:mod:`medsign.reminders.scan`) then reads only rows that are due.

An *occurrence* names what a firing is about (the appointment's start, the status change
and its time, the birthday's date, the results' time): the ledger keeps one firing per
rule, target and occurrence, so a rescheduled appointment is reminded of again, an
unchanged one never twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from medsign.appointments.models import Appointment
from medsign.appointments.schemas import AppointmentStatus
from medsign.db.upsert import conflict_insert
from medsign.domain.local_time import minus_offset, next_birthday, plus_offset, zone
from medsign.organizations.models import Organization
from medsign.patients.models import Patient
from medsign.reminders.models import NotificationRule, ScheduledNotification

APPOINTMENT_EVENTS = frozenset(
    {
        "appointment.before",
        "appointment.after_service",
        "appointment.status_changed",
        "results.ready",
    }
)
BIRTHDAY = "patient.birthday"
# A change is scheduled even if its moment passed this long ago (the schedule job runs
# a little after the change that queued it).
LATE_GRACE = timedelta(hours=1)
CHUNK = 1000
CANCELLED = AppointmentStatus.CANCELLED.value


@dataclass(frozen=True)
class Due:
    """When a rule fires for a target next, and about what."""

    occurrence: str
    due_at: datetime


def appointment_due(
    rule: NotificationRule, appt: Appointment, tz: ZoneInfo, not_before: datetime
) -> Due | None:
    """The next firing of ``rule`` for ``appt`` (None: nothing to fire, or the moment has
    passed before ``not_before``, except a reminder of an appointment still to come)."""
    event, offset = rule.event, rule.offset_minutes
    if event == "appointment.before":
        if appt.status == CANCELLED or appt.starts_at <= not_before:
            return None
        return Due(appt.starts_at.isoformat(), minus_offset(appt.starts_at, offset, tz))
    if event == "appointment.after_service":
        wanted = {s.casefold() for s in rule.services or ()}
        if appt.status == CANCELLED or appt.service.casefold() not in wanted:
            return None
        due = Due(appt.starts_at.isoformat(), plus_offset(appt.starts_at, offset, tz))
    elif event == "appointment.status_changed":
        if rule.statuses and appt.status not in rule.statuses:
            return None
        occurrence = f"{appt.status}@{appt.status_changed_at.isoformat()}"
        due = Due(occurrence, plus_offset(appt.status_changed_at, offset, tz))
    elif event == "results.ready":
        if appt.results_ready_at is None:
            return None
        due = Due(appt.results_ready_at.isoformat(), plus_offset(appt.results_ready_at, offset, tz))
    else:
        return None
    return due if due.due_at >= not_before else None


def birthday_due(
    rule: NotificationRule, patient: Patient, tz: ZoneInfo, after: datetime
) -> Due | None:
    """The patient's next birthday greeting after ``after`` (None without a birth date)."""
    if patient.birth_date is None:
        return None
    at = next_birthday(patient.birth_date, rule.offset_minutes, tz, after)
    return Due(at.astimezone(tz).date().isoformat(), at)


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = conflict_insert(session, ScheduledNotification)
    stmt = stmt.on_conflict_do_update(
        index_elements=["rule_id", "target_id"],
        set_={"occurrence": stmt.excluded.occurrence, "due_at": stmt.excluded.due_at},
    )
    session.execute(stmt, rows)


def _apply(session: Session, pairs: Iterable[tuple[NotificationRule, str, Due | None]]) -> None:
    """Upsert the rows that have a next firing, delete the others (chunked)."""
    upserts: list[dict[str, Any]] = []
    gone: list[tuple[str, str]] = []
    for rule, target_id, due in pairs:
        if due is None:
            gone.append((rule.id, target_id))
            continue
        upserts.append(
            {
                "organization_id": rule.organization_id,
                "rule_id": rule.id,
                "target_id": target_id,
                "occurrence": due.occurrence,
                "due_at": due.due_at,
            }
        )
        if len(upserts) >= CHUNK:
            _upsert(session, upserts)
            upserts = []
    _upsert(session, upserts)
    for rule_id, target_id in gone:
        session.execute(
            delete(ScheduledNotification).where(
                ScheduledNotification.rule_id == rule_id,
                ScheduledNotification.target_id == target_id,
            )
        )


def organization_zone(session: Session, organization_id: str) -> ZoneInfo:
    """The clinic's zone (UTC when unset)."""
    org = session.get(Organization, organization_id)
    return zone(org.time_zone if org is not None else None)


def _rules(session: Session, organization_id: str, events: Iterable[str]) -> list[NotificationRule]:
    return list(
        session.scalars(
            select(NotificationRule).where(
                NotificationRule.organization_id == organization_id,
                NotificationRule.active.is_(True),
                NotificationRule.event.in_(list(events)),
            )
        )
    )


def sync_appointment(
    session: Session, appointment_id: str, *, now: datetime, status_rules: bool = True
) -> None:
    """Recompute the appointment's rows under every rule of its organization
    (``status_rules=False``: leave the status-change rules alone, for a status set by a
    rule itself)."""
    appt = session.get(Appointment, appointment_id)
    if appt is None:
        return
    events = set(APPOINTMENT_EVENTS)
    if not status_rules:
        events.discard("appointment.status_changed")
    tz = organization_zone(session, appt.organization_id)
    rules = _rules(session, appt.organization_id, events)
    _apply(session, ((r, appt.id, appointment_due(r, appt, tz, now - LATE_GRACE)) for r in rules))


def sync_patient(session: Session, patient_id: str, *, now: datetime) -> None:
    """Recompute the patient's birthday rows."""
    patient = session.get(Patient, patient_id)
    if patient is None:
        return
    tz = organization_zone(session, patient.organization_id)
    rules = _rules(session, patient.organization_id, [BIRTHDAY])
    _apply(session, ((r, patient.id, birthday_due(r, patient, tz, now)) for r in rules))


def _stream(session: Session, query: Any) -> Iterator[Any]:
    yield from session.scalars(query.execution_options(yield_per=CHUNK))


def sync_rule(session: Session, rule_id: str, *, now: datetime) -> None:
    """Fill in (or refill) every target of a rule: once when it is created or when the
    organization's zone changed; only targets whose moment is still to come."""
    rule = session.get(NotificationRule, rule_id)
    if rule is None:
        return
    session.execute(delete(ScheduledNotification).where(ScheduledNotification.rule_id == rule.id))
    if not rule.active:
        return
    tz = organization_zone(session, rule.organization_id)
    if rule.event == BIRTHDAY:
        patients = select(Patient).where(
            Patient.organization_id == rule.organization_id, Patient.birth_date.is_not(None)
        )
        _apply(
            session,
            ((rule, p.id, birthday_due(rule, p, tz, now)) for p in _stream(session, patients)),
        )
        return
    appts = select(Appointment).where(Appointment.organization_id == rule.organization_id)
    if rule.event in ("appointment.before", "appointment.after_service"):
        appts = appts.where(Appointment.status != CANCELLED)
    if rule.event == "appointment.before":
        appts = appts.where(Appointment.starts_at > now)
    if rule.event == "results.ready":
        appts = appts.where(Appointment.results_ready_at.is_not(None))
    _apply(
        session,
        (
            (rule, a.id, due)
            for a in _stream(session, appts)
            if (due := appointment_due(rule, a, tz, now)) is not None
        ),
    )


def run_schedule_job(session: Session, payload: dict[str, Any], *, now: datetime) -> None:
    """What a ``schedule`` job does, by the id in its payload."""
    if "appointment_id" in payload:
        sync_appointment(
            session,
            str(payload["appointment_id"]),
            now=now,
            status_rules=bool(payload.get("status_rules", True)),
        )
    elif "patient_id" in payload:
        sync_patient(session, str(payload["patient_id"]), now=now)
    elif "rule_id" in payload:
        sync_rule(session, str(payload["rule_id"]), now=now)
