"""Request and response shapes of the clinician and device APIs (shared/API.md
"Clinician devices")."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from medsign.clinicians.models import DeviceStatus


class ClinicianIn(BaseModel):
    """``POST /api/v1/clinicians`` body."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200, examples=["Dr. Sara Ahmadi"])
    licence_number: str = Field(min_length=1, max_length=64, examples=["MC-123456"])
    email: str | None = Field(default=None, max_length=254, examples=["sara@example.com"])
    phone: str | None = Field(default=None, max_length=32, examples=["+989121234567"])
    branch_id: str | None = Field(
        default=None,
        max_length=64,
        description="The workplace: one of the organization's branches (default: the "
        "organization itself; a branch token's clinicians work at its branch).",
    )
    lang: Literal["en", "ru", "fa"] | None = None


class EnrollmentIn(BaseModel):
    """``POST /api/v1/clinicians/{id}/enrollments`` body: another workplace or device,
    or a replacement for a device whose key is lost."""

    model_config = ConfigDict(extra="forbid")

    branch_id: str | None = Field(default=None, max_length=64)
    replaces_device_id: str | None = Field(
        default=None,
        max_length=64,
        description="This device is revoked when the new one enrolls (lost or replaced key).",
    )


class EnrollmentOut(BaseModel):
    """A new enrollment link (the token is shown once; it was also sent to the clinician)."""

    id: str = Field(description="The clinician's id.")
    enrollment_id: str
    enrollment_url: str
    enrollment_token: str
    expires_at: datetime


class DeviceOut(BaseModel):
    """An enrolled device and its certificate."""

    id: str
    branch_id: str | None
    status: DeviceStatus
    certificate_serial: str
    not_after: datetime
    created_at: datetime
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    certificate: str = Field(description="PEM.")


class ClinicianOut(BaseModel):
    """A clinician with their devices (one certificate per device and workplace)."""

    id: str
    name: str
    licence_number: str
    email: str | None = None
    phone: str | None = None
    created_at: datetime
    devices: list[DeviceOut]


class ClinicianList(BaseModel):
    """The organization's clinicians, oldest first."""

    items: list[ClinicianOut]


class RevokeIn(BaseModel):
    """``POST /api/v1/clinicians/{id}/devices/{device_id}/revoke`` body."""

    model_config = ConfigDict(extra="forbid")

    reason: Literal["key_compromise", "superseded", "cessation_of_operation", "unspecified"] = (
        "unspecified"
    )


class EnrollIn(BaseModel):
    """``POST /device/v1/enroll`` body."""

    model_config = ConfigDict(extra="forbid")

    enrollment_token: str = Field(min_length=1, max_length=200)
    csr: str = Field(
        min_length=1,
        max_length=16_000,
        description="PEM PKCS#10 request signed by the device's ECDSA P-256 key.",
    )


class EnrolledOut(BaseModel):
    """A new device: its bearer token (shown once), certificate and chain (PEM)."""

    device_id: str
    device_token: str
    certificate: str
    chain: list[str]


class PagesOut(BaseModel):
    """How the request's document is laid out, for showing it as page images
    (docs/viewer.md) before, or instead of, the PDF."""

    version: str = Field(description="The first 16 hex digits of the document's SHA-256.")
    widths: list[int] = Field(description="The widths pages are drawn at, in pixels.")
    sizes: list[tuple[int, int]] = Field(
        description="Each page's [width, height] in pixels at the smallest width."
    )
    image_url: str = Field(
        description="A page's image URL with `{n}` for the page number and `{w}` for the width."
    )


class DeviceRequestOut(BaseModel):
    """A pending signing request for this device."""

    id: str
    envelope_id: str
    title: str
    document_url: str
    to_sign: str = Field(description="Base64 of the DER CMS signed attributes to sign.")
    algorithm: Literal["ecdsa-p256-sha256"] = "ecdsa-p256-sha256"
    created_at: datetime
    expires_at: datetime


class ApproveIn(BaseModel):
    """``POST /device/v1/requests/{id}/approve`` body."""

    model_config = ConfigDict(extra="forbid")

    signature: str = Field(
        min_length=1,
        max_length=400,
        description="Base64 of a DER ECDSA-Sig-Value or the 64-byte r||s (WebCrypto).",
    )
    webauthn: dict[str, Any] | None = Field(
        default=None,
        description="Optional WebAuthn assertion whose challenge is the hash of what is "
        "approved; kept in the evidence.",
    )


class DeclineIn(BaseModel):
    """``POST /device/v1/requests/{id}/decline`` body."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=1000)


class BatchItemIn(BaseModel):
    """One approval of a batch."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(max_length=64)
    signature: str = Field(min_length=1, max_length=400)


class BatchApproveIn(BaseModel):
    """``POST /device/v1/requests/approve`` body: each item is signed separately."""

    model_config = ConfigDict(extra="forbid")

    items: list[BatchItemIn] = Field(min_length=1, max_length=200)
    webauthn: dict[str, Any] | None = Field(
        default=None, description="Optional WebAuthn assertion covering the whole batch."
    )


class ApprovedOut(BaseModel):
    """The result of one approval."""

    id: str
    status: Literal["approved", "declined", "refused"]
    envelope_id: str | None = None
    problem: dict[str, Any] | None = Field(
        default=None, description="Why it was refused (an RFC 9457 problem object)."
    )


class BatchOut(BaseModel):
    """Per-item results of a batch, in the order given."""

    items: list[ApprovedOut]
