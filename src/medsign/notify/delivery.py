"""Delivering a queued notification message: channel by channel, logged, with fallback.

One ``notify`` job runs one step of a message, or of each message of a batch
(``message_ids``: :func:`deliver_batch`, as scheduled reminders are queued)
(docs/notifications.md):

1. find the person's address on the current channel; none: log ``skipped`` and go on
   to the next channel;
2. claim the step (``sending``, leased like a job) in a committed transaction, so that
   two workers holding jobs of the same message never both send it;
3. hand it to the channel's :class:`~medsign.notify.ports.Sender`; a retryable failure
   is retried by the worker with its backoff up to ``notify_channel_attempts`` times,
   then counts as a failure; a failure moves the message to the next channel;
4. on success log ``sent`` and meter it; a channel whose acceptance is its delivery
   report (deadline 0) marks the message delivered, any other waits for a delivery
   report (:func:`report`) until its deadline, then a ``check`` job moves it on.

When no channel is left the message is dead-lettered (``dead``) and can be replayed.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from medsign.branding.outbound import sender_name
from medsign.jobs.outbox import JobCall, JobKind, enqueue, enqueue_many
from medsign.jobs.running import backoff
from medsign.notify.models import (
    NotificationDelivery,
    NotificationMessage,
    PushSubscription,
    TelegramLink,
)
from medsign.notify.outbound import MessageStatus
from medsign.notify.ports import Channel, DeliveryError, Message, Sender
from medsign.notify.subscriptions import push_targets
from medsign.notify.webpush import EndpointGone
from medsign.patients.models import Patient
from medsign.runtime import Runtime
from medsign.settings import Settings
from medsign.usage.service import insert_usage, local_day, message_amounts, usage_entries

SENDING = "sending"  # a worker holds the step (internal; shown as "queued" by the API)
PUSH_RECEIPT = "push-receipt"  # keyring purpose of push receipt tokens
BATCH_SENDERS = 16  # messages of one batch handed to their channels at once


@dataclass(frozen=True)
class Deadlines:
    """How long each channel may take to report delivery (0: acceptance is delivery)."""

    seconds: Mapping[str, float]

    @classmethod
    def from_settings(cls, settings: Settings) -> Deadlines:
        """The per-channel deadlines configured in ``settings``."""
        return cls(
            {
                "push": settings.notify_deadline_push_seconds,
                "telegram": settings.notify_deadline_telegram_seconds,
                "email": settings.notify_deadline_email_seconds,
                "sms": settings.notify_deadline_sms_seconds,
            }
        )


def step_ref(message_id: str, step: int) -> str:
    """The idempotency key of one step of a message (the same for every retry)."""
    return f"{message_id}.{step}"


def log(
    session: Session,
    message: NotificationMessage,
    status: str,
    now: datetime,
    *,
    ref: str | None = None,
    detail: str | None = None,
) -> None:
    """Append one entry to the message's delivery log."""
    channel = message.channels[message.step] if message.step < len(message.channels) else None
    session.add(
        NotificationDelivery(
            message_id=message.id,
            step=message.step,
            channel=channel,
            status=status,
            provider_ref=ref,
            detail=detail,
            at=now,
        )
    )


def advance(session: Session, message: NotificationMessage, now: datetime, detail: str) -> None:
    """The current channel failed (``detail`` says how): log it, then queue the next
    channel or, when none is left, dead-letter the message."""
    log(session, message, "failed", now, detail=detail)
    message.step += 1
    message.deadline_at = None
    message.last_error = detail
    message.updated_at = now
    if message.step >= len(message.channels):
        message.status = MessageStatus.DEAD.value
        log(session, message, "dead", now, detail="no channel reached the person")
        return
    message.status = MessageStatus.QUEUED.value
    enqueue(session, JobKind.NOTIFY, {"message_id": message.id}, now=now)


def addresses(
    session: Session,
    message: NotificationMessage,
    channel: str,
    *,
    now: datetime,
    cabinet_idle: timedelta,
) -> list[str]:
    """Where ``message`` can reach its person on ``channel`` (empty: nowhere); push
    also reaches the patient's cabinet (medsign.notify.subscriptions)."""
    patient = session.get(Patient, message.patient_id) if message.patient_id else None
    if patient is not None and patient.organization_id != message.organization_id:
        patient = None
    if channel == "email":
        email = message.email or (patient.email if patient else None)
        return [email] if email else []
    if channel == "sms":
        phone = message.phone or (patient.phone if patient else None)
        return [phone] if phone else []
    if channel == "push":
        return push_targets(session, message, now=now, cabinet_idle=cabinet_idle)
    if message.subject_kind is None or message.subject_id is None:
        return []
    if channel == "telegram":
        chats = session.scalars(
            select(TelegramLink.chat_id).where(
                TelegramLink.organization_id == message.organization_id,
                TelegramLink.subject_kind == message.subject_kind,
                TelegramLink.subject_id == message.subject_id,
                TelegramLink.chat_id.is_not(None),
            )
        ).all()
        return [c for c in chats if c]
    return []


@dataclass(frozen=True)
class _Step:
    message_id: str
    step: int
    channel: Channel
    targets: list[str]
    subject: str
    body: str
    scope: tuple[str, str | None]
    link: str | None
    sender_name: str


def _take(
    rt: Runtime,
    session: Session,
    message: NotificationMessage,
    senders: Mapping[Channel, Sender],
    now: datetime,
) -> _Step | None:
    """Claim the current step of a locked, queued ``message`` (None: nothing to send)."""
    if message.status == SENDING and message.deadline_at and message.deadline_at > now:
        return None  # another worker holds this step
    if message.status not in (MessageStatus.QUEUED.value, SENDING):
        return None  # sent, delivered or dead: this job is a stale duplicate
    idle = timedelta(days=rt.settings.cabinet_session_days)
    while message.step < len(message.channels):
        channel = message.channels[message.step]
        targets = (
            addresses(session, message, channel, now=now, cabinet_idle=idle)
            if channel in senders
            else []
        )
        if targets:
            break
        log(session, message, "skipped", now, detail=f"no {channel} address or channel")
        message.step += 1
    else:
        message.status = MessageStatus.DEAD.value
        message.updated_at = now
        message.last_error = "no channel reached the person"
        log(session, message, "dead", now, detail=message.last_error)
        return None
    message.status = SENDING
    message.deadline_at = now + timedelta(seconds=rt.settings.worker_lease_seconds)
    message.updated_at = now
    return _Step(
        message_id=message.id,
        step=message.step,
        channel=channel,  # type: ignore[arg-type]
        targets=targets,
        subject=message.subject,
        body=(message.texts or {}).get(channel, message.text),
        scope=(message.organization_id, message.branch_id),
        link=message.link,
        sender_name=sender_name(session, message.organization_id),
    )


def _claim_step(rt: Runtime, call: JobCall, senders: Mapping[Channel, Sender]) -> _Step | None:
    """Decide what this job sends (if anything) and claim it, in one transaction."""
    now = rt.clock()
    with rt.transaction() as session:
        message = session.get(
            NotificationMessage, str(call.payload["message_id"]), with_for_update=True
        )
        if message is None:
            return None
        if "check" in call.payload:
            # The channel's deadline passed: no delivery report means it did not work.
            # (A check left over from before a replay finds a later deadline: no-op.)
            if (
                message.status == MessageStatus.SENT.value
                and message.step == call.payload["check"]
                and message.deadline_at is not None
                and message.deadline_at <= now
            ):
                advance(session, message, now, "no delivery report before the deadline")
            return None
        return _take(rt, session, message, senders, now)


@dataclass(frozen=True)
class _Result:
    """What handing one step to its channel came to."""

    sent: int
    provider_ref: str | None
    failure: DeliveryError | None
    gone: list[str]


def _send(rt: Runtime, step: _Step, senders: Mapping[Channel, Sender]) -> _Result:
    """Hand ``step`` to its channel, once per address (push: every subscription)."""
    ref = step_ref(step.message_id, step.step)
    sender = senders[step.channel]
    provider_ref: str | None = None
    sent = 0
    failure: DeliveryError | None = None
    gone: list[str] = []
    for target in step.targets:
        message = Message(
            channel=step.channel,
            to=target,
            subject=step.subject,
            body=step.body,
            idempotency_key=ref,
            receipt=rt.keyring.hash(PUSH_RECEIPT, ref) if step.channel == "push" else None,
            link=step.link if step.channel == "push" else None,
            sender_name=step.sender_name,  # as signing messages (docs/branding.md)
        )
        try:
            provider_ref = sender.send(message) or provider_ref
            sent += 1
        except EndpointGone as exc:
            failure = exc
            gone.append(exc.endpoint)
        except DeliveryError as exc:
            failure = exc
    return _Result(sent, provider_ref, failure, gone)


class _Outcomes:
    """What the outcomes of one job write besides the messages' rows, gathered so that
    a batch writes them in one statement each: usage records and deadline checks."""

    def __init__(self) -> None:
        self.usage: list[dict[str, Any]] = []
        self.checks: dict[datetime, list[dict[str, Any]]] = {}

    def write(self, session: Session) -> None:
        """Insert what was gathered, in the caller's transaction."""
        insert_usage(session, self.usage)
        for run_after, payloads in self.checks.items():
            enqueue_many(session, JobKind.NOTIFY, payloads, now=run_after)


def deliver(
    rt: Runtime, call: JobCall, senders: Mapping[Channel, Sender], deadlines: Deadlines
) -> None:
    """Run one step of the message named in ``call`` (the ``notify`` job's handler); a
    job naming several (``message_ids``) runs them as a batch (:func:`deliver_batch`)."""
    if "message_ids" in call.payload:
        deliver_batch(rt, call, senders, deadlines)
        return
    step = _claim_step(rt, call, senders)
    if step is None:
        return
    result = _send(rt, step, senders)
    failure = result.failure
    retry = False
    now = rt.clock()
    with rt.transaction() as session:
        if result.gone:
            session.execute(
                delete(PushSubscription).where(PushSubscription.endpoint.in_(result.gone))
            )
        row = session.get(NotificationMessage, step.message_id, with_for_update=True)
        assert row is not None
        if row.status != SENDING or row.step != step.step:
            return  # replayed or reported meanwhile
        if result.sent == 0:
            assert failure is not None
            retry = failure.retryable and call.attempt < rt.settings.notify_channel_attempts
            if retry:
                row.status = MessageStatus.QUEUED.value
                row.last_error = failure.detail
                log(session, row, "retry", now, detail=failure.detail)
            else:
                advance(session, row, now, failure.detail)
        else:
            outcomes = _Outcomes()
            ref = result.provider_ref or step_ref(step.message_id, step.step)
            _sent(rt, session, row, step, ref, deadlines, now, f"message:{call.id}", outcomes)
            outcomes.write(session)
    if retry and failure is not None:
        raise failure  # the worker retries the job with its backoff


def _locked(
    session: Session, ids: Sequence[str], *, patients: bool = True
) -> tuple[list[NotificationMessage], list[Patient]]:
    """The messages named by ``ids``, locked in id order (one lock order for every
    batch, so two batches sharing messages wait for each other instead of deadlocking),
    and their patients, loaded with one query. The caller holds on to the patients while
    it works: the session's identity map keeps objects only while they are referenced,
    and there :func:`addresses` finds them without a query per message."""
    rows = list(
        session.scalars(
            select(NotificationMessage)
            .where(NotificationMessage.id.in_(sorted(set(ids))))
            .order_by(NotificationMessage.id)
            .with_for_update()
        )
    )
    wanted = {r.patient_id for r in rows if r.patient_id} if patients else set()
    loaded = list(session.scalars(select(Patient).where(Patient.id.in_(wanted)))) if wanted else []
    return rows, loaded


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _senders_pool() -> ThreadPoolExecutor:
    """The process's threads that hand a batch's messages to their channels side by
    side (the HTTP channels share one keep-alive connection pool, ``shared_client``)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(BATCH_SENDERS, thread_name_prefix="medsign-send")
        return _pool


def deliver_batch(
    rt: Runtime, call: JobCall, senders: Mapping[Channel, Sender], deadlines: Deadlines
) -> None:
    """Run the current step of every message in ``call.payload["message_ids"]``.

    Every guarantee of :func:`deliver` holds per message: the steps are claimed in one
    transaction, sent side by side (each with its own idempotency key), and their
    outcomes recorded in one more transaction. A message whose channel failed in a way
    worth retrying is retried alone: its id goes into a new job, due after the worker's
    backoff (``retried`` carries the attempts made, up to ``notify_channel_attempts``),
    while the rest of the batch is done. The job itself succeeds."""
    ids = [str(i) for i in call.payload["message_ids"]]
    attempt = call.attempt + int(call.payload.get("retried", 0))
    now = rt.clock()
    with rt.transaction() as session:
        messages, _patients = _locked(session, ids)
        claimed = [_take(rt, session, m, senders, now) for m in messages]
    steps = [s for s in claimed if s is not None]
    if not steps:
        return
    if len(steps) == 1:
        results = [_send(rt, steps[0], senders)]
    else:
        results = list(_senders_pool().map(lambda s: _send(rt, s, senders), steps))
    now = rt.clock()
    retry: list[str] = []
    with rt.transaction() as session:
        gone = [endpoint for r in results for endpoint in r.gone]
        if gone:
            session.execute(delete(PushSubscription).where(PushSubscription.endpoint.in_(gone)))
        rows = {m.id: m for m in _locked(session, [s.message_id for s in steps], patients=False)[0]}
        outcomes = _Outcomes()
        for step, result in zip(steps, results, strict=True):
            row = rows.get(step.message_id)
            if row is None or row.status != SENDING or row.step != step.step:
                continue  # replayed or reported meanwhile
            if result.sent == 0:
                failure = result.failure
                assert failure is not None
                if failure.retryable and attempt < rt.settings.notify_channel_attempts:
                    row.status = MessageStatus.QUEUED.value
                    row.last_error = failure.detail
                    log(session, row, "retry", now, detail=failure.detail)
                    retry.append(row.id)
                else:
                    advance(session, row, now, failure.detail)
                continue
            ref = result.provider_ref or step_ref(step.message_id, step.step)
            # Metered per message and job: a re-run of this job counts each once.
            key = f"m:{call.id}:{row.id}"
            _sent(rt, session, row, step, ref, deadlines, now, key, outcomes)
        outcomes.write(session)
        if retry:
            later = now + timedelta(seconds=backoff(rt.settings.webhook_backoff, attempt))
            enqueue(session, JobKind.NOTIFY, {"message_ids": retry, "retried": attempt}, now=later)


def _sent(
    rt: Runtime,
    session: Session,
    row: NotificationMessage,
    step: _Step,
    provider_ref: str,
    deadlines: Deadlines,
    now: datetime,
    usage_key: str,
    outcomes: _Outcomes,
) -> None:
    """Log and meter a hand-off (keyed by the job: a retried job counts once, a replay
    that sends again counts again); wait for a delivery report when the channel gives
    one. Usage and the deadline check are gathered in ``outcomes``."""
    log(session, row, "sent", now, ref=provider_ref)
    amounts = message_amounts(step.channel, step.body)
    if amounts:
        organization_id, branch_id = step.scope
        outcomes.usage += usage_entries(
            organization_id=organization_id,
            branch_id=branch_id,
            day=local_day(now, rt.settings.time_zone),
            key=usage_key,
            amounts=amounts,
            now=now,
        )
    wait = deadlines.seconds.get(step.channel, 0.0)
    row.updated_at = now
    row.last_error = None
    if wait <= 0:
        row.status = MessageStatus.DELIVERED.value
        row.deadline_at = None
        log(session, row, "delivered", now, detail="accepted by the channel")
        return
    row.status = MessageStatus.SENT.value
    row.deadline_at = now + timedelta(seconds=wait)
    outcomes.checks.setdefault(row.deadline_at, []).append(
        {"message_id": row.id, "check": step.step}
    )


def awaiting_reports(session: Session, channel: str, provider_refs: Sequence[str]) -> list[str]:
    """Those of ``provider_refs`` that name a step handed to ``channel`` (so a report
    about them is worth fetching); unknown references are left out."""
    if not provider_refs:
        return []
    found = set(
        session.scalars(
            select(NotificationDelivery.provider_ref).where(
                NotificationDelivery.provider_ref.in_(list(provider_refs)),
                NotificationDelivery.channel == channel,
                NotificationDelivery.status == "sent",
            )
        )
    )
    return [r for r in provider_refs if r in found]


def report(
    session: Session,
    *,
    channel: str,
    provider_ref: str,
    delivered: bool,
    detail: str,
    now: datetime,
) -> bool:
    """Apply an authenticated delivery report from ``channel``'s provider; False when no
    message matches (unknown reference). A report for a step the message has left
    (late, or repeated) is logged and changes nothing."""
    entry = session.scalars(
        select(NotificationDelivery)
        .where(
            NotificationDelivery.provider_ref == provider_ref,
            NotificationDelivery.channel == channel,
            NotificationDelivery.status == "sent",
        )
        .order_by(NotificationDelivery.id.desc())
        .limit(1)
    ).first()
    if entry is None:
        return False
    message = session.get(NotificationMessage, entry.message_id, with_for_update=True)
    assert message is not None
    current = message.status == MessageStatus.SENT.value and message.step == entry.step
    if not current:
        session.add(
            NotificationDelivery(
                message_id=message.id,
                step=entry.step,
                channel=channel,
                status="delivered" if delivered else "failed",
                provider_ref=provider_ref,
                detail=f"late report: {detail}",
                at=now,
            )
        )
        return True
    if delivered:
        message.status = MessageStatus.DELIVERED.value
        message.deadline_at = None
        message.updated_at = now
        log(session, message, "delivered", now, ref=provider_ref, detail=detail)
    else:
        advance(session, message, now, detail)
    return True
