"""Request and response shapes of notification templates, rules and the organization's
notification settings."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from medsign.appointments.schemas import AppointmentStatus

RuleEvent = Literal[
    "appointment.before",
    "appointment.after_service",
    "appointment.status_changed",
    "results.ready",
    "patient.birthday",
]
ChannelName = Literal["push", "telegram", "email", "sms"]
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


class TemplateIn(BaseModel):
    """A template of one event in one language (``subject`` is for email)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "event": "appointment.before",
                    "lang": "en",
                    "subject": "Reminder",
                    "text": "{{ patient_name }}, see you at {{ appointment_time }}.",
                }
            ]
        },
    )

    event: str = Field(max_length=40)
    lang: str = Field(max_length=2)
    subject: str = Field(default="", max_length=300)
    text: str = Field(min_length=1, max_length=2000)
    html: str | None = Field(default=None, max_length=20000)


class TemplatePreviewIn(TemplateIn):
    """A template to render before saving, with optional parameter values (samples
    fill the rest)."""

    params: dict[str, str] = Field(default_factory=dict, max_length=20)


class TemplateOut(BaseModel):
    """A saved template."""

    id: str
    event: str
    lang: str
    subject: str
    text: str
    html: str | None
    created_at: datetime
    updated_at: datetime


class TemplateList(BaseModel):
    """The organization's templates."""

    items: list[TemplateOut]


class PreviewOut(BaseModel):
    """What the message would say."""

    subject: str
    text: str
    html: str | None


class RuleIn(BaseModel):
    """``POST /api/v1/notification-rules``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"event": "appointment.before", "offset_minutes": 1440, "channels": ["sms"]},
                {
                    "event": "patient.birthday",
                    "offset_minutes": 600,
                    "channels": ["email", "sms"],
                    "template": {"en": "Happy birthday, {{ patient_name }}!"},
                },
            ]
        },
    )

    event: RuleEvent
    offset_minutes: int = Field(
        ge=0,
        le=366 * 24 * 60,
        description="Minutes before (appointment.before) or after the event; for "
        "patient.birthday the local time of day in minutes after midnight.",
    )
    channels: list[ChannelName] = Field(
        min_length=1,
        max_length=4,
        description="In order: the first that reaches the patient (fallback, "
        "docs/notifications.md).",
    )
    template: dict[str, str] | None = Field(
        default=None,
        description="Text per language (en, ru, fa); else the organization's "
        "template of the event, else the built-in one.",
        max_length=3,
    )
    services: list[str] | None = Field(
        default=None, max_length=100, description="appointment.after_service: which services."
    )
    statuses: list[AppointmentStatus] | None = Field(
        default=None,
        max_length=10,
        description="appointment.status_changed: which statuses (default: any).",
    )
    set_status: AppointmentStatus | None = Field(
        default=None, description="Set this status on the appointment after sending."
    )

    @field_validator("channels")
    @classmethod
    def _distinct(cls, value: list[ChannelName]) -> list[ChannelName]:
        return list(dict.fromkeys(value))


class RuleOut(BaseModel):
    """A rule as stored."""

    id: str
    event: str
    offset_minutes: int
    channels: list[str]
    template: dict[str, str] | None
    services: list[str] | None
    statuses: list[str] | None
    set_status: str | None
    active: bool
    created_at: datetime


class RuleList(BaseModel):
    """The organization's active rules."""

    items: list[RuleOut]


class QuietHours(BaseModel):
    """Local times ``HH:MM``; may span midnight (21:00 to 09:00)."""

    model_config = ConfigDict(extra="forbid")

    start: str = Field(examples=["21:00"])
    end: str = Field(examples=["09:00"])

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.fullmatch(value):
            raise ValueError("use HH:MM, 00:00 to 23:59")
        return value


class NotificationSettingsIn(BaseModel):
    """``PATCH /api/v1/organization/settings``: fields left out stay as they are;
    ``quiet_hours: null`` removes them."""

    model_config = ConfigDict(extra="forbid")

    time_zone: str | None = Field(default=None, max_length=64, examples=["Europe/Moscow"])
    quiet_hours: QuietHours | None = None
    notification_lang: Literal["en", "ru", "fa"] | None = None


class NotificationSettingsOut(BaseModel):
    """The organization's time zone, quiet hours and notification language."""

    time_zone: str
    quiet_hours: QuietHours | None
    notification_lang: str
