"""The scan: claim the schedule rows that are due, fire each once, queue the messages.

O(due): rows are read through the ``due_at`` index, ``batch`` at a time, and locked
with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so workers scanning side by side take
different rows (on SQLite the single writer does the same). Firing a row inserts its
ledger row, unique per (rule, target, occurrence), with ``ON CONFLICT DO NOTHING`` in the
same transaction that moves or deletes the schedule row and hands the message to the
notification queue (:func:`medsign.notify.outbound.queue_messages`, idempotency key: the
firing's id): a rule fires exactly once per occurrence however many workers scan and
however often a crash makes one start again. Channels, fallback and the delivery log
are the queue's (docs/notifications.md).

Quiet hours: a row that comes due inside them is moved to their end, and fires then.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from medsign.appointments.models import Appointment
from medsign.appointments.schemas import AppointmentStatus
from medsign.db.upsert import conflict_insert
from medsign.domain.local_time import format_local, quiet_until, zone
from medsign.errors import InvalidInput
from medsign.notify.outbound import Outgoing, Recipient, queue_messages
from medsign.organizations.models import Organization
from medsign.patients.models import Patient
from medsign.reminders.models import (
    NotificationFiring,
    NotificationRule,
    NotificationTemplate,
    ScheduledNotification,
)
from medsign.reminders.schedule import BIRTHDAY, birthday_due
from medsign.reminders.templates import DEFAULTS, render, status_label
from medsign.runtime import Runtime

BATCH = 500
QUEUED, SKIPPED = "queued", "skipped"


@dataclass
class _Context:
    """What a batch needs, loaded once per batch (no query per row)."""

    rules: dict[str, NotificationRule]
    orgs: dict[str, Organization]
    appointments: dict[str, Appointment]
    patients: dict[str, Patient]
    templates: dict[tuple[str, str, str], NotificationTemplate]


def _load(session: Session, rows: list[ScheduledNotification]) -> _Context:
    rule_ids = {r.rule_id for r in rows}
    target_ids = [r.target_id for r in rows]
    rules = {
        r.id: r
        for r in session.scalars(select(NotificationRule).where(NotificationRule.id.in_(rule_ids)))
    }
    appts = {
        a.id: a for a in session.scalars(select(Appointment).where(Appointment.id.in_(target_ids)))
    }
    patient_ids = set(target_ids) | {a.patient_id for a in appts.values()}
    patients = {
        p.id: p for p in session.scalars(select(Patient).where(Patient.id.in_(patient_ids)))
    }
    org_ids = {r.organization_id for r in rows}
    orgs = {
        o.id: o for o in session.scalars(select(Organization).where(Organization.id.in_(org_ids)))
    }
    templates = {
        (t.organization_id, t.event, t.lang): t
        for t in session.scalars(
            select(NotificationTemplate).where(NotificationTemplate.organization_id.in_(org_ids))
        )
    }
    return _Context(rules, orgs, appts, patients, templates)


def _still_valid(rule: NotificationRule, appt: Appointment, occurrence: str, now: datetime) -> bool:
    """Whether an appointment's firing still makes sense (it may have changed since)."""
    cancelled = appt.status == AppointmentStatus.CANCELLED.value
    if rule.event == "appointment.before":
        return not cancelled and appt.starts_at.isoformat() == occurrence and appt.starts_at > now
    if rule.event == "appointment.after_service":
        return not cancelled and appt.starts_at.isoformat() == occurrence
    if rule.event == "appointment.status_changed":
        return occurrence == f"{appt.status}@{appt.status_changed_at.isoformat()}"
    return appt.results_ready_at is not None  # results.ready


def _params(
    rt: Runtime,
    org: Organization,
    patient: Patient,
    appt: Appointment | None,
    tz: ZoneInfo,
    lang: str,
) -> dict[str, str]:
    params = {
        "patient_name": patient.name,
        "clinic": org.name,
        "link": f"{rt.settings.public_url.rstrip('/')}/cabinet",
    }
    if appt is not None:
        params |= {
            "appointment_time": format_local(appt.starts_at, tz),
            "appointment_date": appt.starts_at.astimezone(tz).date().isoformat(),
            "doctor": appt.doctor,
            "service": appt.service,
            "status": status_label(appt.status, lang),
        }
    return params


def _wording(ctx: _Context, rule: NotificationRule, lang: str) -> tuple[str, str, str | None]:
    """(subject, text, html): the rule's own text, else the organization's template of
    the event, else the built-in one."""
    saved = ctx.templates.get((rule.organization_id, rule.event, lang))
    default_subject, default_text = DEFAULTS[rule.event].get(lang, DEFAULTS[rule.event]["en"])
    subject = saved.subject if saved is not None else default_subject
    if rule.template and lang in rule.template:
        return subject, str(rule.template[lang]), None
    if saved is not None:
        return saved.subject, saved.text, saved.html
    return default_subject, default_text, None


@dataclass(frozen=True)
class _Out:
    """A rendered message waiting for its firing to be recorded."""

    patient_id: str
    branch_id: str | None
    subject: str
    text: str


def _fire(
    rt: Runtime, ctx: _Context, row: ScheduledNotification, rule: NotificationRule, now: datetime
) -> tuple[dict[str, Any], _Out | None] | None:
    """The ledger row of one firing and its message (None when the target no longer
    qualifies; no message when it cannot be rendered)."""
    org = ctx.orgs[row.organization_id]
    tz = zone(org.time_zone)
    appt = ctx.appointments.get(row.target_id)
    if rule.event == BIRTHDAY:
        patient = ctx.patients.get(row.target_id)
        if patient is None or patient.birth_date is None:
            return None
    else:
        if appt is None or not _still_valid(rule, appt, row.occurrence, now):
            return None
        patient = ctx.patients[appt.patient_id]
    firing: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "organization_id": row.organization_id,
        "rule_id": rule.id,
        "target_id": row.target_id,
        "occurrence": row.occurrence,
        "appointment_id": appt.id if appt is not None else None,
        "status": QUEUED,
        "error": None,
        "set_status": rule.set_status if appt is not None else None,
        "fired_at": now,
    }
    lang = org.notification_lang or rt.settings.default_lang
    subject, text, html = _wording(ctx, rule, lang)
    try:
        message = render(subject, text, html, _params(rt, org, patient, appt, tz, lang))
    except InvalidInput as exc:
        failed = {"status": SKIPPED, "error": exc.detail[:500], "set_status": None}
        return firing | failed, None
    branch = appt.branch_id if appt is not None else None
    return firing, _Out(patient.id, branch, message.subject, message.text)


def fire_due(rt: Runtime, *, batch: int = BATCH) -> int:
    """Fire one batch of due rows; return how many rows were taken (0: none is due)."""
    now = rt.clock()
    with rt.transaction(write=False) as session:  # idle rounds take no write lock (SQLite)
        due = select(ScheduledNotification.id).where(ScheduledNotification.due_at <= now)
        if session.scalar(due.limit(1)) is None:
            return 0
    with rt.transaction() as session:
        rows = list(
            session.scalars(
                select(ScheduledNotification)
                .where(ScheduledNotification.due_at <= now)
                .order_by(ScheduledNotification.due_at)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        if not rows:
            return 0
        ctx = _load(session, rows)
        firings: list[dict[str, Any]] = []
        messages: dict[str, tuple[NotificationRule, _Out]] = {}
        done: list[int] = []
        for row in rows:
            rule = ctx.rules.get(row.rule_id)
            org = ctx.orgs.get(row.organization_id)
            if rule is None or org is None or not rule.active:
                done.append(row.id)
                continue
            tz = zone(org.time_zone)
            later = quiet_until(now, tz, org.quiet_start_minute, org.quiet_end_minute)
            if later is not None:
                row.due_at = later  # quiet hours: wait for their end
                continue
            fired = _fire(rt, ctx, row, rule, now)
            if fired is not None:
                firings.append(fired[0])
                if fired[1] is not None:
                    messages[fired[0]["id"]] = (rule, fired[1])
            patient = ctx.patients.get(row.target_id)
            if rule.event == BIRTHDAY and patient is not None:
                nxt = birthday_due(rule, patient, tz, row.due_at)
                if nxt is not None:
                    row.occurrence, row.due_at = nxt.occurrence, nxt.due_at
                    continue
            done.append(row.id)
        if done:
            session.execute(
                delete(ScheduledNotification)
                .where(ScheduledNotification.id.in_(done))
                .execution_options(synchronize_session=False)
            )
        outgoing = []
        for firing_id in _insert_firings(session, firings):
            rule, out = messages[firing_id]
            outgoing.append(
                Outgoing(
                    organization_id=rule.organization_id,
                    recipient=Recipient(patient_id=out.patient_id),
                    text=out.text,
                    subject=out.subject,
                    channels=rule.channels,
                    idempotency_key=firing_id,
                    branch_id=out.branch_id,
                    event=rule.event,
                    link=rt.cabinet_url(),  # a push opens the patient's cabinet
                )
            )
        queue_messages(session, outgoing, now=now)
        return len(rows)


def _insert_firings(session: Session, firings: list[dict[str, Any]]) -> list[str]:
    """Insert the ledger rows; a firing already in the ledger is not inserted again.
    Returns the ids of the new ones that have a message to hand over."""
    if not firings:
        return []
    stmt = (
        conflict_insert(session, NotificationFiring)
        .on_conflict_do_nothing(index_elements=["rule_id", "target_id", "occurrence"])
        .returning(NotificationFiring.id, NotificationFiring.status)
    )
    inserted = session.execute(stmt, firings).all()
    return [row.id for row in inserted if row.status == QUEUED]


def fire_all_due(rt: Runtime, *, budget_seconds: float = 0.5, batch: int = BATCH) -> int:
    """Fire batches until none is due or ``budget_seconds`` passed (the worker's
    housekeeping calls this about every second); returns the rows taken."""
    deadline = time.monotonic() + budget_seconds
    total = 0
    while True:
        taken = fire_due(rt, batch=batch)
        total += taken
        if taken < batch or time.monotonic() >= deadline:
            return total
