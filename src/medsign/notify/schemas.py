"""Shapes of the notification API: messages, their delivery log, channel order, push
subscriptions and Telegram links (docs/notifications.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ChannelName = Literal["push", "telegram", "email", "sms"]


class DeliveryEntry(BaseModel):
    """One entry of a message's delivery log."""

    step: int
    channel: ChannelName | None
    status: Literal["queued", "sent", "delivered", "failed", "skipped", "retry", "dead", "replayed"]
    detail: str | None = None
    at: datetime


class NotificationOut(BaseModel):
    """A message (without its text and contacts: personal data stays in the log row)."""

    id: str
    status: Literal["queued", "sent", "delivered", "dead"]
    channel: ChannelName | None = Field(description="The channel tried now (or last).")
    channels: list[ChannelName]
    event: str | None = None
    branch_id: str | None = None
    patient_id: str | None = None
    last_error: str | None = None
    created_at: datetime
    updated_at: datetime
    log: list[DeliveryEntry] | None = Field(
        default=None, description="The delivery log, oldest first (only on GET by id)."
    )


class NotificationList(BaseModel):
    """A page of messages, newest first."""

    items: list[NotificationOut]
    next_cursor: str | None = None


class ChannelOrder(BaseModel):
    """The order in which channels are tried (cheapest first: SMS costs money)."""

    model_config = ConfigDict(extra="forbid")

    channels: list[ChannelName] = Field(min_length=1, max_length=4)


class PushKeys(BaseModel):
    """``PushSubscription.toJSON().keys`` (W3C Push API; RFC 8291 key material)."""

    p256dh: str = Field(min_length=80, max_length=200, pattern=r"^[A-Za-z0-9_-]+=*$")
    auth: str = Field(min_length=16, max_length=100, pattern=r"^[A-Za-z0-9_-]+=*$")


class PushSubscriptionIn(BaseModel):
    """A browser's push subscription for a subject (a patient's cabinet or a device)."""

    model_config = ConfigDict(extra="ignore")

    subject_kind: Literal["patient", "device", "staff"]
    subject_id: str = Field(min_length=1, max_length=100)
    endpoint: str = Field(min_length=12, max_length=1000)
    keys: PushKeys


class PushSubscriptionOut(BaseModel):
    """A stored push subscription."""

    id: str
    subject_kind: str
    subject_id: str
    created_at: datetime


class VapidKeyOut(BaseModel):
    """The application server key for ``pushManager.subscribe`` (RFC 8292 §3.2)."""

    public_key: str = Field(description="Uncompressed P-256 point, base64url without padding.")


class TelegramLinkIn(BaseModel):
    """Whose Telegram chat to link."""

    subject_kind: Literal["patient", "device", "staff"]
    subject_id: str = Field(min_length=1, max_length=100)


class TelegramLinkOut(BaseModel):
    """The deep link to give the person: opening it and pressing Start links the chat."""

    id: str
    url: str
    start_token: str
