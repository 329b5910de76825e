"""Request and response shapes of the patient API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PatientIn(BaseModel):
    """``POST /api/v1/patients``: upsert by the MIS id (minimal personal data)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    mis_id: str = Field(min_length=1, max_length=100, examples=["A-10442"])
    name: str = Field(min_length=1, max_length=200, examples=["Иванова Мария Петровна"])
    birth_date: date | None = None
    phone: str | None = Field(default=None, max_length=32, examples=["+79991234567"])
    email: str | None = Field(default=None, max_length=254)
    preferred_channel: Literal["sms", "email"] | None = None


class PatientOut(BaseModel):
    """A patient as stored."""

    id: str
    mis_id: str
    name: str
    birth_date: date | None
    phone: str | None
    email: str | None
    preferred_channel: str | None
    created: bool = False


class EdoAgreementOut(BaseModel):
    """Whether OTP signatures are agreed with this patient, and until when."""

    patient_mis_id: str
    status: Literal["active", "none", "expired", "revoked"]
    agreement_id: str | None = None
    source: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    revoked_at: datetime | None = None
    attested_by: str | None = None
