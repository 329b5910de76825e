"""Shapes of ``/api/v1/invites``."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class InviteIn(BaseModel):
    """``POST /api/v1/invites``: a new pre-visit invite link."""

    model_config = ConfigDict(extra="forbid")

    branch_id: str | None = Field(default=None, max_length=64)
    valid_days: int = Field(default=14, ge=1, le=90, description="How long the link works.")


class InviteOut(BaseModel):
    """An invite; ``url`` only in the answer that created it (it is not stored)."""

    id: str
    status: str = Field(description="`open`, `completed` or `expired`.")
    url: str | None = None
    expires_at: datetime
    completed_at: datetime | None = None
    patient_mis_id: str | None = None


class InviteForm(BaseModel):
    """What the patient types on the invite page."""

    model_config = ConfigDict(str_strip_whitespace=True)

    name: str = Field(min_length=3, max_length=200)
    birth_date: date
    contact: str = Field(min_length=3, max_length=300)
    consent: bool
