"""The clinic's view of its notifications: the log, the dead-letter list, replay, the
channel order, push subscriptions and Telegram links (docs/notifications.md)."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from medsign.branches.scope import current_branch
from medsign.domain.tokens import Keyring
from medsign.errors import Conflict, InvalidInput, NotFound
from medsign.jobs.outbox import JobKind, enqueue
from medsign.notify import subscriptions
from medsign.notify.models import (
    NotificationDelivery,
    NotificationMessage,
    NotificationSettings,
    PushSubscription,
    TelegramLink,
)
from medsign.notify.outbound import MessageStatus, check_channels, organization_channels
from medsign.notify.schemas import (
    DeliveryEntry,
    NotificationOut,
    PushSubscriptionIn,
)
from medsign.notify.subscriptions import DEVICE, Holder
from medsign.pagination import decode_cursor, encode_cursor

TELEGRAM_START = "telegram-start"  # keyring purpose of /start deep-link tokens
TELEGRAM_WEBHOOK = "telegram-webhook"  # keyring purpose of setWebhook's secret_token
_STATUSES = tuple(s.value for s in MessageStatus)


def _visible(session: Session, organization_id: str, message_id: str) -> NotificationMessage:
    message = session.get(NotificationMessage, message_id)
    branch = current_branch()
    if (
        message is None
        or message.organization_id != organization_id
        or (branch is not None and message.branch_id != branch)
    ):
        raise NotFound("No such notification in this organization.")
    return message


def message_out(
    message: NotificationMessage, log: list[NotificationDelivery] | None
) -> NotificationOut:
    """The API view of a message (``sending`` shows as ``queued``)."""
    status = message.status if message.status in _STATUSES else MessageStatus.QUEUED.value
    step = min(message.step, len(message.channels) - 1)
    return NotificationOut.model_validate(
        {
            "id": message.id,
            "status": status,
            "channel": message.channels[step] if message.channels else None,
            "channels": message.channels,
            "event": message.event,
            "branch_id": message.branch_id,
            "patient_id": message.patient_id,
            "last_error": message.last_error,
            "created_at": message.created_at,
            "updated_at": message.updated_at,
            "log": None
            if log is None
            else [
                DeliveryEntry.model_validate(
                    {
                        "step": e.step,
                        "channel": e.channel,
                        "status": e.status,
                        "detail": e.detail,
                        "at": e.at,
                    }
                )
                for e in log
            ],
        }
    )


def list_messages(
    session: Session,
    organization_id: str,
    *,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[NotificationMessage], str | None]:
    """A page of the organization's messages, newest first; ``status='dead'`` is the
    dead-letter list."""
    if status is not None and status not in _STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(_STATUSES)}", field="status")
    query = select(NotificationMessage).where(
        NotificationMessage.organization_id == organization_id
    )
    branch = current_branch()
    if branch is not None:
        query = query.where(NotificationMessage.branch_id == branch)
    if status == MessageStatus.QUEUED.value:
        query = query.where(NotificationMessage.status.in_((status, "sending")))
    elif status is not None:
        query = query.where(NotificationMessage.status == status)
    if cursor is not None:
        created, last_id = decode_cursor(cursor, 2)
        try:
            at = datetime.fromisoformat(str(created))
        except ValueError as exc:
            raise InvalidInput("The cursor is not valid; pass back `next_cursor` as is.") from exc
        query = query.where(
            (NotificationMessage.created_at < at)
            | ((NotificationMessage.created_at == at) & (NotificationMessage.id < str(last_id)))
        )
    rows = list(
        session.scalars(
            query.order_by(
                NotificationMessage.created_at.desc(), NotificationMessage.id.desc()
            ).limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].created_at.isoformat(), rows[-1].id) if more else None
    return rows, next_cursor


def get_message(
    session: Session, organization_id: str, message_id: str
) -> tuple[NotificationMessage, list[NotificationDelivery]]:
    """A message and its delivery log (404 for another organization's or branch's)."""
    message = _visible(session, organization_id, message_id)
    log = list(
        session.scalars(
            select(NotificationDelivery)
            .where(NotificationDelivery.message_id == message.id)
            .order_by(NotificationDelivery.id)
        )
    )
    return message, log


def replay(
    session: Session, organization_id: str, message_id: str, *, now: datetime
) -> NotificationMessage:
    """Queue a dead-lettered message again from its first channel (409 unless dead).

    A conditional UPDATE decides, so two replays at once queue it once."""
    message = _visible(session, organization_id, message_id)
    taken = session.execute(
        update(NotificationMessage)
        .where(
            NotificationMessage.id == message.id,
            NotificationMessage.status == MessageStatus.DEAD.value,
        )
        .values(status=MessageStatus.QUEUED.value, step=0, deadline_at=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("Only a dead-lettered notification can be replayed.", state=message.status)
    session.refresh(message)
    session.add(
        NotificationDelivery(message_id=message.id, step=0, channel=None, status="replayed", at=now)
    )
    enqueue(session, JobKind.NOTIFY, {"message_id": message.id}, now=now)
    return message


def get_channels(session: Session, organization_id: str) -> list[str]:
    """The organization's fallback order."""
    return list(organization_channels(session, organization_id))


def set_channels(
    session: Session, organization_id: str, channels: list[str], *, now: datetime
) -> list[str]:
    """Replace the organization's fallback order (applies to messages queued later)."""
    order = check_channels(channels)
    row = session.get(NotificationSettings, organization_id, with_for_update=True)
    if row is None:
        session.add(
            NotificationSettings(
                organization_id=organization_id, channels=list(order), updated_at=now
            )
        )
    else:
        row.channels = list(order)
        row.updated_at = now
    return list(order)


def subscribe_push(
    session: Session, organization_id: str, body: PushSubscriptionIn, *, now: datetime
) -> PushSubscription:
    """Store (or move to this subject) a browser's push subscription; the endpoint must
    be https (RFC 8030 §8: push services use TLS). Devices may share an endpoint (the
    clinician app's workplaces), other subjects hold theirs alone
    (medsign.notify.subscriptions)."""
    holder = Holder(body.subject_kind, body.subject_id, organization_id)
    return subscriptions.save(
        session, holder, body.endpoint, body.keys, now=now, shared=body.subject_kind == DEVICE
    )


def unsubscribe_push(session: Session, organization_id: str, subscription_id: str) -> None:
    """Forget a push subscription."""
    sub = session.get(PushSubscription, subscription_id)
    if sub is None or sub.organization_id != organization_id:
        raise NotFound("No such push subscription.")
    session.delete(sub)


def new_telegram_link(
    session: Session,
    keyring: Keyring,
    organization_id: str,
    subject_kind: str,
    subject_id: str,
    *,
    now: datetime,
) -> tuple[TelegramLink, str]:
    """A new ``/start`` token for a subject (stored only as its keyed hash)."""
    token = secrets.token_urlsafe(24)  # Bot API deep links: up to 64 of [A-Za-z0-9_-]
    link = TelegramLink(
        organization_id=organization_id,
        subject_kind=subject_kind,
        subject_id=subject_id,
        token_hash=keyring.hash(TELEGRAM_START, token),
        created_at=now,
    )
    session.add(link)
    session.flush()
    return link, token


def link_telegram_chat(
    session: Session, keyring: Keyring, token: str, chat_id: str, *, now: datetime
) -> bool:
    """Link the chat that sent ``/start <token>``; False for an unknown or used token."""
    link = session.scalars(
        select(TelegramLink)
        .where(TelegramLink.token_hash == keyring.hash(TELEGRAM_START, token))
        .with_for_update()
    ).first()
    if link is None or link.chat_id is not None:
        return False
    link.chat_id = chat_id
    link.linked_at = now
    return True


def telegram_webhook_secret(keyring: Keyring) -> str:
    """The ``secret_token`` to give ``setWebhook``: Telegram sends it back in
    ``X-Telegram-Bot-Api-Secret-Token`` with every update (Bot API, setWebhook)."""
    return keyring.hash(TELEGRAM_WEBHOOK, "v1")
