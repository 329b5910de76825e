"""Shapes of ``/api/v1/record-requests``."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

DELIVERIES = ("cabinet", "email", "paper")


class RecordRequestOut(BaseModel):
    """A request as the clinic sees it, with its legal deadline."""

    id: str
    patient_mis_id: str
    what: str
    period_from: date | None
    period_to: date | None
    delivery: str = Field(description="`cabinet`, `email` or `paper`.")
    status: str = Field(description="`open` or `issued`.")
    created_at: datetime
    due_at: datetime
    overdue: bool
    issued_at: datetime | None
    envelope_id: str | None


class RecordRequestList(BaseModel):
    """Requests, the nearest deadline first."""

    items: list[RecordRequestOut]


class RecordSettingsIn(BaseModel):
    """``PUT /api/v1/record-requests/settings``."""

    model_config = ConfigDict(extra="forbid")

    deadline_days: int = Field(
        ge=1, le=30, description="Days to issue copies; the law allows at most 30."
    )


class RecordSettingsOut(RecordSettingsIn):
    """The organization's deadline."""
