"""Webhook subscriptions and their deliveries (one row per event and subscription)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from medsign.db.base import Base, UTCDateTime, utcnow


class WebhookSubscription(Base):
    """An endpoint of one organization and the event types it wants.

    The signing secret is never stored: it is derived from the deployment key, the
    subscription id and ``secret_version`` (:func:`medsign.webhooks.signing.derive_secret`),
    like link tokens are. Rotation bumps the version and keeps the previous one signing
    until ``previous_secret_until`` (the overlap window).
    """

    __tablename__ = "webhook_subscriptions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    # A branch token's subscription gets only that branch's envelope events.
    branch_id: Mapped[str | None] = mapped_column(ForeignKey("branches.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12))  # active | disabled | deleted
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    secret_version: Mapped[int] = mapped_column(Integer, default=1)
    previous_secret_version: Mapped[int | None] = mapped_column(Integer)
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    """One event on its way to one subscription, with its attempts so far.

    ``id`` (autoincrement) orders deliveries; a delivery waits while an earlier one of
    the same subscription and ``ordering_key`` (the envelope) is still pending.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_chain", "subscription_id", "ordering_key", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(40), unique=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id"), index=True)
    event_pk: Mapped[int] = mapped_column(ForeignKey("events.id"))
    event_id: Mapped[str] = mapped_column(String(40))  # the webhook-id header
    event_type: Mapped[str] = mapped_column(String(40))
    envelope_id: Mapped[str | None] = mapped_column(String(36))
    ordering_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))  # pending | succeeded | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    replay_of: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
