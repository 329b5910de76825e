"""Request and response shapes of ``/api/v1/webhooks``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from medsign.events.service import ENVELOPE_EVENTS

ALL_EVENTS = "*"


class WebhookIn(BaseModel):
    """``POST /api/v1/webhooks`` body; unknown fields are refused."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {"url": "https://mis.example.com/medsign/webhook", "events": ["*"]},
                {
                    "url": "https://mis.example.com/hooks",
                    "events": ["envelope.completed", "envelope.declined"],
                },
            ]
        },
    )

    url: str = Field(min_length=8, max_length=2000, examples=["https://mis.example.com/hook"])
    events: list[str] = Field(
        min_length=1,
        max_length=len(ENVELOPE_EVENTS) + 1,
        description="Event types to receive; `*` for all: " + ", ".join(ENVELOPE_EVENTS),
        examples=[["envelope.completed", "envelope.declined"]],
    )
    description: str | None = Field(default=None, max_length=200)
    branch_id: str | None = Field(
        default=None,
        max_length=64,
        description="Receive only this branch's envelope events (organization tokens; a "
        "branch token's subscriptions are always its branch's).",
    )

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v != ALL_EVENTS and v not in ENVELOPE_EVENTS]
        if unknown:
            raise ValueError(
                f"unknown event type(s) {', '.join(unknown)}; use '*' or "
                + ", ".join(ENVELOPE_EVENTS)
            )
        return list(dict.fromkeys(value))


class RotateIn(BaseModel):
    """``POST /api/v1/webhooks/{id}/rotate-secret`` body (optional)."""

    model_config = ConfigDict(extra="forbid")

    overlap_seconds: int = Field(
        default=86400,
        ge=0,
        le=7 * 86400,
        description="How long the previous secret keeps signing beside the new one.",
    )


class ReplayIn(BaseModel):
    """``POST /api/v1/webhooks/{id}/replay`` body."""

    model_config = ConfigDict(extra="forbid")

    since: datetime = Field(
        description="Send again every matching event created at or after this time "
        "(ISO 8601 with a time zone).",
        examples=["2026-11-23T09:00:00Z"],
    )

    @field_validator("since")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-11-23T09:00:00Z")
        return value


class WebhookOut(BaseModel):
    """A subscription (the secret is shown only at creation and rotation)."""

    id: str
    url: str
    events: list[str]
    description: str | None = None
    status: str = Field(description="`active`, or `disabled` (the endpoint answered 410 Gone)")
    disabled_reason: str | None = None
    disabled_at: datetime | None = None
    previous_secret_until: datetime | None = Field(
        default=None, description="End of the rotation overlap: both secrets sign until then."
    )
    branch_id: str | None = Field(
        default=None, description="Null: every event of the organization; else its branch's."
    )
    created_at: datetime


class WebhookCreated(WebhookOut):
    """The 201 answer: the subscription and its signing secret (shown once)."""

    secret: str = Field(description="`whsec_` + base64 (Standard Webhooks); shown only now.")


class SecretOut(BaseModel):
    """The answer of a rotation."""

    id: str
    secret: str
    previous_secret_until: datetime | None


class WebhookList(BaseModel):
    """Every subscription of the organization."""

    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    """One delivery in the log."""

    id: str
    event_id: str = Field(description="The `webhook-id` header of every attempt.")
    event_type: str
    envelope_id: str | None = None
    status: str = Field(description="`pending`, `succeeded` or `dead` (dead-lettered)")
    attempts: int
    response_status: int | None = None
    last_error: str | None = None
    replay_of: str | None = None
    created_at: datetime
    last_attempt_at: datetime | None = None
    next_attempt_at: datetime | None = None
    finished_at: datetime | None = None


class DeliveryList(BaseModel):
    """A page of the delivery log, newest first."""

    items: list[DeliveryOut]
    next_cursor: str | None = None


class ReplayOut(BaseModel):
    """What a replay queued."""

    replayed: int
    delivery_ids: list[str]
