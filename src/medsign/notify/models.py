"""The dev outbox, notification messages and their delivery log, push subscriptions and
Telegram links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from medsign.db.base import Base, UTCDateTime, new_id, utcnow


class DevMessage(Base):
    """A message that would have been sent (dev mode only: it shows codes in clear)."""

    __tablename__ = "dev_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    channel: Mapped[str] = mapped_column(String(10))
    to: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationSettings(Base):
    """An organization's channel fallback order (docs/notifications.md); without a row
    the default order applies (:data:`medsign.notify.outbound.DEFAULT_CHANNELS`)."""

    __tablename__ = "notification_settings"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    channels: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationMessage(Base):
    """One message to one person, tried on its channels in order until one reports it
    delivered (or every channel failed: then it is dead-lettered, ``status='dead'``)."""

    __tablename__ = "notification_messages"
    __table_args__ = (
        UniqueConstraint("organization_id", "idempotency_key"),
        Index("ix_notification_messages_org_status", "organization_id", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    branch_id: Mapped[str | None] = mapped_column(String(36))
    patient_id: Mapped[str | None] = mapped_column(String(36))
    subject_kind: Mapped[str | None] = mapped_column(String(20))
    subject_id: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    event: Mapped[str | None] = mapped_column(String(60))
    # The page a push notification opens when clicked (an absolute URL of medsign).
    link: Mapped[str | None] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    texts: Mapped[dict[str, str] | None] = mapped_column(JSON)
    channels: Mapped[list[str]] = mapped_column(JSON)
    step: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12))
    idempotency_key: Mapped[str] = mapped_column(String(120))
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationDelivery(Base):
    """The delivery log: one row per thing that happened to a message on a channel
    (queued, sent, delivered, failed, skipped, retry, replayed)."""

    __tablename__ = "notification_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("notification_messages.id"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12))
    provider_ref: Mapped[str | None] = mapped_column(String(120), index=True)
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PushSubscription(Base):
    """A Web Push subscription (W3C Push API ``PushSubscription.toJSON()``) of a
    subject: a patient cabinet account (``cabinet``, no organization: it reaches the
    account from every clinic it is attached to), a clinician's device (``device``), or
    one an MIS registered through the API (``patient``, ``staff``).

    One browser endpoint may serve several subjects (the clinician app's workplaces
    share its service worker), hence unique per (endpoint, subject) (migration 0028).
    """

    __tablename__ = "push_subscriptions"
    __table_args__ = (
        UniqueConstraint("endpoint", "subject_kind", "subject_id"),
        Index("ix_push_subscriptions_subject", "organization_id", "subject_kind", "subject_id"),
        Index("ix_push_subscriptions_kind_subject", "subject_kind", "subject_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    # The cabinet session that subscribed: its end (log out) removes the subscription.
    session_id: Mapped[str | None] = mapped_column(String(36), index=True)
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(100))
    endpoint: Mapped[str] = mapped_column(String(1000))
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TelegramLink(Base):
    """A Telegram chat linked to a subject through a ``/start <token>`` deep link
    (Bot API); ``chat_id`` stays empty until the person presses Start."""

    __tablename__ = "telegram_links"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        Index("ix_telegram_links_subject", "organization_id", "subject_kind", "subject_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
