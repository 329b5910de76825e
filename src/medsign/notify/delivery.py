"""Delivering a queued notification message: channel by channel, logged, with fallback.

One ``notify`` job runs one step of a message (docs/notifications.md):

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

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from medsign.jobs.outbox import JobCall, JobKind, enqueue
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
from medsign.usage.service import local_day, message_amounts, record_usage

SENDING = "sending"  # a worker holds the step (internal; shown as "queued" by the API)
PUSH_RECEIPT = "push-receipt"  # keyring purpose of push receipt tokens


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
        )


def deliver(
    rt: Runtime, call: JobCall, senders: Mapping[Channel, Sender], deadlines: Deadlines
) -> None:
    """Run one step of the message named in ``call`` (the ``notify`` job's handler)."""
    step = _claim_step(rt, call, senders)
    if step is None:
        return
    ref = step_ref(step.message_id, step.step)
    sender = senders[step.channel]
    provider_ref: str | None = None
    sent = 0
    retry = False
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
        )
        try:
            provider_ref = sender.send(message) or provider_ref
            sent += 1
        except EndpointGone as exc:
            failure = exc
            gone.append(exc.endpoint)
        except DeliveryError as exc:
            failure = exc
    now = rt.clock()
    with rt.transaction() as session:
        if gone:
            session.execute(delete(PushSubscription).where(PushSubscription.endpoint.in_(gone)))
        row = session.get(NotificationMessage, step.message_id, with_for_update=True)
        assert row is not None
        if row.status != SENDING or row.step != step.step:
            return  # replayed or reported meanwhile
        if sent == 0:
            assert failure is not None
            retry = failure.retryable and call.attempt < rt.settings.notify_channel_attempts
            if retry:
                row.status = MessageStatus.QUEUED.value
                row.last_error = failure.detail
                log(session, row, "retry", now, detail=failure.detail)
            else:
                advance(session, row, now, failure.detail)
        else:
            _sent(rt, session, row, step, provider_ref or ref, deadlines, now, call.id)
    if retry and failure is not None:
        raise failure  # the worker retries the job with its backoff


def _sent(
    rt: Runtime,
    session: Session,
    row: NotificationMessage,
    step: _Step,
    provider_ref: str,
    deadlines: Deadlines,
    now: datetime,
    job_id: str,
) -> None:
    """Log and meter a hand-off (keyed by the job: a retried job counts once, a replay
    that sends again counts again); wait for a delivery report when the channel gives
    one."""
    log(session, row, "sent", now, ref=provider_ref)
    amounts = message_amounts(step.channel, step.body)
    if amounts:
        organization_id, branch_id = step.scope
        record_usage(
            session,
            organization_id=organization_id,
            branch_id=branch_id,
            day=local_day(now, rt.settings.time_zone),
            key=f"message:{job_id}",
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
    enqueue(
        session, JobKind.NOTIFY, {"message_id": row.id, "check": step.step}, now=row.deadline_at
    )


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
