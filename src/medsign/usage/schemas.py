"""Shapes of usage answers (shared/API.md "Notifications and usage")."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class SmsUsage(BaseModel):
    """SMS handed to the gateway and the segments they are billed as."""

    messages: int = 0
    segments: int = 0


class UsageOut(BaseModel):
    """Totals over a range of days, both ends included."""

    signatures: dict[str, int] = Field(
        default_factory=dict, description="Signatures applied, by signer method."
    )
    sms: SmsUsage = Field(default_factory=SmsUsage)
    emails: int = 0
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    branch_id: str | None = None

    model_config = {"populate_by_name": True}


class UsageRow(BaseModel):
    """One line of the CSV export: a day, a branch, a metric and its total."""

    day: date
    branch_id: str | None
    metric: str
    amount: int
