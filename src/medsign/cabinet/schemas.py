"""Request and response shapes of the cabinet's API (shared/API.md "Patient cabinet")."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AttachCodeOut(BaseModel):
    """``POST /api/v1/patients/{mis_id}/attach-code``: the code, for printing too."""

    code: str = Field(examples=["482913067"], description="9 digits; single-use.")
    expires_at: datetime
    channel: Literal["sms", "email"] = Field(
        description="Where medsign sends it (the organization's channel priority)."
    )


class CabinetSettingsIn(BaseModel):
    """``PUT /api/v1/cabinet/settings``: fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    user_agreement_document_id: str | None = Field(
        default=None,
        max_length=64,
        description="A document of kind user_agreement that patients accept at first "
        "login; null removes it.",
    )
    attach_channel_priority: Literal["phone_first", "email_first"] | None = Field(
        default=None,
        description="Where attach codes go: the phone, with the email as fallback, or "
        "the reverse (a patient card's preferred_channel comes first).",
    )


class CabinetSettingsOut(BaseModel):
    """The organization's cabinet settings."""

    user_agreement_document_id: str | None
    attach_channel_priority: str
