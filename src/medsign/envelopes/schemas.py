"""Request and response shapes of the envelope API (shared/API.md)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SignerIn(BaseModel):
    """One signer as the MIS describes them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    role: str = Field(examples=["patient"])
    name: str = Field(min_length=1, max_length=200, examples=["Maria Ivanova"])
    phone: str | None = Field(default=None, max_length=32, examples=["+79991234567"])
    email: str | None = Field(default=None, max_length=254, examples=["maria@example.com"])
    method: str = Field(examples=["sms_otp"])
    order: int = Field(default=1, ge=1, le=100)
    relation: str | None = None
    patient_mis_id: str | None = Field(default=None, max_length=100)
    lang: Literal["en", "ru", "fa"] | None = None
    identity_provider_id: str | None = Field(
        default=None,
        max_length=64,
        description="Method idp: the organization's identity provider the signer logs in at.",
    )
    birth_date: date | None = Field(
        default=None, description="Method idp: matched with the provider's birth date claim."
    )
    national_id: str | None = Field(
        default=None,
        max_length=64,
        description="Method idp: e.g. SNILS; when the provider gives one too, it decides "
        "the match. Stored only as a keyed hash.",
    )
    clinician_id: str | None = Field(
        default=None,
        max_length=64,
        description="Method device: the clinician (POST /api/v1/clinicians) whose enrolled "
        "device signs.",
    )


class EnvelopeIn(BaseModel):
    """``POST /api/v1/envelopes`` body."""

    model_config = ConfigDict(extra="forbid")

    document_id: str = Field(max_length=64)
    signers: list[SignerIn] = Field(min_length=1, max_length=20)
    expires_at: datetime | None = None
    branch_id: str | None = Field(
        default=None,
        max_length=64,
        description="The branch the envelope belongs to (organization tokens only; a "
        "branch token's envelopes are its branch's). Default: the document's branch.",
    )


def reaches_by_sms(body: EnvelopeIn) -> bool:
    """True when a signer of ``body`` will get SMS: a phone with ``sms_otp``, or a phone
    and no email (the channel :mod:`medsign.envelopes.messages` picks)."""
    return any(s.phone and (s.method == "sms_otp" or not s.email) for s in body.signers)


class SignerOut(BaseModel):
    """A signer's current state."""

    id: str
    role: str
    name: str
    method: str
    order: int
    status: str
    relation: str | None = None
    signed_at: datetime | None = None
    declined_at: datetime | None = None
    decline_reason: str | None = None
    signing_url: str | None = None
    identity_provider_id: str | None = None
    clinician_id: str | None = Field(
        default=None, description="Method device: the clinician whose device signs."
    )


class EnvelopeOut(BaseModel):
    """An envelope's current state."""

    id: str
    status: str
    document_id: str
    created_at: datetime
    expires_at: datetime
    completed_at: datetime | None = None
    void_reason: str | None = None
    branch_id: str | None = Field(default=None, description="Null: the whole organization's.")
    signers: list[SignerOut]


class VoidIn(BaseModel):
    """``POST /api/v1/envelopes/{id}/void`` body."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)


class SignerPatch(BaseModel):
    """``PATCH /api/v1/envelopes/{id}/signers/{signer_id}``: fix a contact before signing."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    method: str | None = None


class SealIn(BaseModel):
    """``POST /api/v1/envelopes/{id}/signers/{signer_id}/seal``: who at the clinic asks."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    staff_name: str = Field(min_length=1, max_length=200, examples=["Petrova A. V., registrar"])
