"""Handing a message over for delivery: the one seam other features call.

:func:`queue_message` writes a :class:`~medsign.notify.models.NotificationMessage` and
enqueues its delivery job in the caller's transaction (shared/DESIGN.md "Architecture":
the outbox), so the message goes out only if the caller commits. The worker then tries
the channels in order (docs/notifications.md "Fallback"): the first channel on which
the person has an address gets the message; a failure report, a missing address or no
"delivered" report within the channel's deadline moves it to the next channel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from medsign.db.base import new_id
from medsign.errors import InvalidInput
from medsign.jobs.outbox import JobKind, enqueue_many
from medsign.notify.models import NotificationDelivery, NotificationMessage, NotificationSettings
from medsign.notify.ports import CHANNELS, Channel

# Today's behaviour (medsign.envelopes.messages): email when there is an address, else SMS.
DEFAULT_CHANNELS: tuple[Channel, ...] = ("email", "sms")
MAX_TEXT = 4000
DELIVERY_BATCH = 100  # messages per delivery job when many are queued at once


class MessageStatus(StrEnum):
    """Life of a notification message (docs/notifications.md "Delivery log")."""

    QUEUED = "queued"  # waiting for (or between) attempts
    SENT = "sent"  # a channel took it; waiting for its delivery report
    DELIVERED = "delivered"  # a channel reported it delivered
    DEAD = "dead"  # every channel failed or had no address: the dead-letter list


@dataclass(frozen=True)
class Recipient:
    """Whom to reach: a patient (their contacts, push subscriptions and Telegram chat
    are looked up when sending) and/or contacts given directly. ``subject`` names the
    holder of push subscriptions and Telegram links when it is not a patient, e.g.
    ``("device", device_id)`` for a clinician's device."""

    patient_id: str | None = None
    email: str | None = None
    phone: str | None = None
    subject: tuple[str, str] | None = None


def organization_channels(session: Session, organization_id: str) -> list[Channel]:
    """The organization's fallback order, or :data:`DEFAULT_CHANNELS`."""
    row = session.get(NotificationSettings, organization_id)
    if row is None:
        return list(DEFAULT_CHANNELS)
    return [cast(Channel, c) for c in row.channels]


def check_channels(channels: Sequence[str]) -> list[Channel]:
    """A non-empty list of known channels without repeats, or a 422 problem."""
    if not channels:
        raise InvalidInput("channels must name at least one channel")
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        raise InvalidInput(f"unknown channel {unknown[0]!r}; use one of {', '.join(CHANNELS)}")
    if len(set(channels)) != len(channels):
        raise InvalidInput("channels must not repeat a channel")
    return [cast(Channel, c) for c in channels]


@dataclass(frozen=True)
class Outgoing:
    """One message for :func:`queue_messages` (the arguments of :func:`queue_message`)."""

    organization_id: str
    recipient: Recipient
    text: str
    idempotency_key: str
    subject: str = ""
    texts: Mapping[str, str] | None = None
    channels: Sequence[str] | None = None
    branch_id: str | None = None
    event: str | None = None
    link: str | None = None


def queue_message(
    session: Session,
    *,
    organization_id: str,
    recipient: Recipient,
    text: str,
    subject: str = "",
    texts: Mapping[str, str] | None = None,
    channels: Sequence[str] | None = None,
    idempotency_key: str,
    now: datetime,
    branch_id: str | None = None,
    event: str | None = None,
    link: str | None = None,
) -> str:
    """Queue one message in the caller's transaction and return its id.

    ``text`` is the body on every channel unless ``texts`` holds one for that channel
    (e.g. a short SMS); ``subject`` is used by email and push, ``link`` (an absolute
    URL) is what a push notification opens when clicked. ``channels`` is the order
    to try (None: the organization's). A second call with the same ``idempotency_key``
    in the organization returns the first message's id and queues nothing (also when
    two transactions race: the unique key decides, the loser waits and then reads).
    """
    outgoing = Outgoing(
        organization_id=organization_id,
        recipient=recipient,
        text=text,
        idempotency_key=idempotency_key,
        subject=subject,
        texts=texts,
        channels=channels,
        branch_id=branch_id,
        event=event,
        link=link,
    )
    return queue_messages(session, [outgoing], now=now)[0]


def queue_messages(session: Session, messages: Sequence[Outgoing], *, now: datetime) -> list[str]:
    """Queue many messages at once (a few statements for the whole batch, as scheduled
    notifications need); each as :func:`queue_message` would. Returns their ids."""
    rows = [_message_row(session, m, now) for m in messages]
    if not rows:
        return []
    new = _insert_once(session, rows)
    fresh = [row for row in rows if row["id"] in new]
    if fresh:
        session.execute(
            insert(NotificationDelivery),
            [
                {"message_id": r["id"], "step": 0, "channel": None, "status": "queued", "at": now}
                for r in fresh
            ],
        )
        enqueue_many(session, JobKind.NOTIFY, delivery_jobs([r["id"] for r in fresh]), now=now)
    ids: list[str] = []
    for row in rows:
        if row["id"] in new:
            ids.append(str(row["id"]))
            continue
        existing = session.scalar(
            select(NotificationMessage.id).where(
                NotificationMessage.organization_id == row["organization_id"],
                NotificationMessage.idempotency_key == row["idempotency_key"],
            )
        )
        assert existing is not None
        ids.append(existing)
    return ids


def delivery_jobs(ids: Sequence[object]) -> list[dict[str, Any]]:
    """The payloads of the ``notify`` jobs delivering ``ids``: one message alone, many in
    batches of :data:`DELIVERY_BATCH` (one job claims, sends and records a batch at once:
    medsign.notify.delivery.deliver_batch)."""
    if len(ids) == 1:
        return [{"message_id": ids[0]}]
    return [
        {"message_ids": list(ids[i : i + DELIVERY_BATCH])}
        for i in range(0, len(ids), DELIVERY_BATCH)
    ]


def _message_row(session: Session, m: Outgoing, now: datetime) -> dict[str, Any]:
    """The checked ``notification_messages`` row of one message (422 when it is bad)."""
    text, texts, recipient = m.text, m.texts, m.recipient
    order = check_channels(m.channels) if m.channels is not None else None
    if not text.strip():
        raise InvalidInput("the message text is empty")
    if len(text) > MAX_TEXT or any(len(v) > MAX_TEXT for v in (texts or {}).values()):
        raise InvalidInput(f"a message text is longer than {MAX_TEXT} characters")
    if texts and any(k not in CHANNELS for k in texts):
        raise InvalidInput("texts may only be keyed by channel names")
    if m.link is not None and not _absolute(m.link):
        raise InvalidInput("link must be an absolute http(s) URL of at most 500 characters")
    if not m.idempotency_key or len(m.idempotency_key) > 120:
        raise InvalidInput("idempotency_key must be 1 to 120 characters")
    if recipient.patient_id is None and not (
        recipient.email or recipient.phone or recipient.subject
    ):
        raise InvalidInput("the recipient has neither a patient nor any contact")
    subject_kind, subject_id = recipient.subject or (
        ("patient", recipient.patient_id) if recipient.patient_id else (None, None)
    )
    return {
        "id": new_id(),
        "organization_id": m.organization_id,
        "branch_id": m.branch_id,
        "patient_id": recipient.patient_id,
        "subject_kind": subject_kind,
        "subject_id": subject_id,
        "email": recipient.email,
        "phone": recipient.phone,
        "event": m.event,
        "link": m.link,
        "subject": m.subject[:300],
        "text": text,
        "texts": dict(texts) if texts else None,
        "channels": list(order or organization_channels(session, m.organization_id)),
        "step": 0,
        "status": MessageStatus.QUEUED.value,
        "idempotency_key": m.idempotency_key,
        "created_at": now,
        "updated_at": now,
    }


def _absolute(link: str) -> bool:
    return link.startswith(("https://", "http://")) and len(link) <= 500


def _insert_once(session: Session, rows: Sequence[Mapping[str, object]]) -> set[object]:
    """INSERT ... ON CONFLICT DO NOTHING on the (organization, key) pair; the new ids."""
    table = cast(Table, NotificationMessage.__table__)
    dialect = session.get_bind().dialect.name
    index = ["organization_id", "idempotency_key"]
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table).on_conflict_do_nothing(index_elements=index)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=index)
    else:  # pragma: no cover - medsign runs on SQLite and PostgreSQL only
        stmt = insert(table)
    # RETURNING, not rowcount: an executemany's rowcount is -1 on psycopg.
    return set(session.scalars(stmt.returning(table.c.id), list(rows)).all())
