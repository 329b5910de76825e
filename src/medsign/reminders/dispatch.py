"""The ``rule_messages`` job: hand a batch of fired rule messages to their channels.

A batch is the firings one scan queued (ids in the payload). Messages go out side by
side on a small thread pool (the senders wait on the network), each under its firing's
id as idempotency key, so a batch run again after a crash or a retry is deduplicated by
the gateway. Sent firings are marked, metered and, when the rule says so, set the
appointment's status, in one transaction; retryable failures make the job retry (only
the unsent rest), others mark the firing failed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from medsign.appointments.service import set_status_by_rule
from medsign.jobs.outbox import JobCall
from medsign.notify.ports import Channel, DeliveryError, Message, Sender
from medsign.reminders.models import NotificationFiring, NotificationRule
from medsign.runtime import Runtime
from medsign.usage.service import local_day, message_amounts, record_usage

PARALLEL = 16
QUEUED, SENT, FAILED = "queued", "sent", "failed"

# How a message reaches its channel; the notification channels' own queue (fallback,
# delivery log) can take this place without the rules noticing.
HandOff = Callable[[Message], None]


def _messages(rt: Runtime, ids: list[str]) -> list[tuple[str, str, str | None, Message]]:
    with rt.transaction(write=False) as session:
        rows = session.execute(
            select(
                NotificationFiring.id,
                NotificationFiring.organization_id,
                NotificationFiring.rule_id,
                NotificationFiring.channel,
                NotificationFiring.recipient,
                NotificationFiring.subject,
                NotificationFiring.body,
            ).where(NotificationFiring.id.in_(ids), NotificationFiring.status == QUEUED)
        ).all()
    return [
        (
            r.id,
            r.organization_id,
            r.rule_id,
            Message(
                channel=r.channel,
                to=r.recipient or "",
                subject=r.subject or "",
                body=r.body or "",
                idempotency_key=r.id,
            ),
        )
        for r in rows
    ]


def _try(send: HandOff, message: Message) -> DeliveryError | None:
    try:
        send(message)
    except DeliveryError as exc:
        return exc
    return None


def deliver_firings(rt: Runtime, call: JobCall, senders: Mapping[Channel, Sender]) -> None:
    """Send the job's queued firings; raise the first retryable error after recording
    what went out (the job retries the rest)."""
    ids = [str(i) for i in call.payload.get("firings", [])]
    batch = _messages(rt, ids)
    if not batch:
        return
    with ThreadPoolExecutor(max_workers=min(PARALLEL, len(batch))) as pool:
        errors = list(pool.map(lambda item: _try(senders[item[3].channel].send, item[3]), batch))
    _record(rt, batch, errors)
    retry = next((e for e in errors if e is not None and e.retryable), None)
    if retry is not None:
        raise retry


def _record(
    rt: Runtime,
    batch: list[tuple[str, str, str | None, Message]],
    errors: list[DeliveryError | None],
) -> None:
    now = rt.clock()
    sent = [item for item, err in zip(batch, errors, strict=True) if err is None]
    failed = [
        (item[0], err.detail)
        for item, err in zip(batch, errors, strict=True)
        if err is not None and not err.retryable
    ]
    with rt.transaction() as session:
        if sent:
            session.execute(
                update(NotificationFiring)
                .where(NotificationFiring.id.in_([i[0] for i in sent]))
                .values(status=SENT, sent_at=now)
                .execution_options(synchronize_session=False)
            )
        for firing_id, detail in failed:
            session.execute(
                update(NotificationFiring)
                .where(NotificationFiring.id == firing_id)
                .values(status=FAILED, error=detail[:500])
                .execution_options(synchronize_session=False)
            )
        day = local_day(now, rt.settings.time_zone)
        for firing_id, organization_id, _, message in sent:
            record_usage(
                session,
                organization_id=organization_id,
                branch_id=None,
                day=day,
                key=f"rule:{firing_id}",
                amounts=message_amounts(message.channel, message.body),
                now=now,
            )
        _set_statuses(session, [i[0] for i in sent], now)


def _set_statuses(session: Session, firing_ids: list[str], now: datetime) -> None:
    """Rules with ``set_status`` mark the appointment once its message went out."""
    if not firing_ids:
        return
    rows = session.execute(
        select(NotificationFiring.appointment_id, NotificationRule.set_status)
        .join(NotificationRule, NotificationRule.id == NotificationFiring.rule_id)
        .where(
            NotificationFiring.id.in_(firing_ids),
            NotificationRule.set_status.is_not(None),
            NotificationFiring.appointment_id.is_not(None),
        )
    ).all()
    for appointment_id, status in rows:
        if appointment_id and status:
            set_status_by_rule(session, appointment_id, status, now=now)
