"""Clinicians, their enrollments, their devices and the signing requests sent to them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from medsign.db.base import Base, UTCDateTime, new_id, utcnow


class DeviceStatus(StrEnum):
    """Whether an enrolled device may still sign (a revoked one is on the CRL)."""

    ACTIVE = "active"
    REVOKED = "revoked"


class RequestStatus(StrEnum):
    """Where a signing request sent to a device stands."""

    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    SUPERSEDED = "superseded"  # another signature changed the PDF first: prepared again
    CLOSED = "closed"  # another device of the clinician approved, or the envelope ended


def _status_column(enum: type[StrEnum]) -> Enum:
    """A VARCHAR(20) column (as migrated) holding the enum's values: SQLAlchemy checks
    every write against the enum and hands back members, so mypy sees the type."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Clinician(Base):
    """A clinician of an organization (one record per organization: a doctor who works
    at a hospital and a private office has one record, and devices, at each)."""

    __tablename__ = "clinicians"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    licence_number: Mapped[str] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    lang: Mapped[str] = mapped_column(String(2), default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClinicianEnrollment(Base):
    """One invitation to enroll a device for one workplace (the organization, or one
    of its branches). The token is derived from the deployment key and the row id and
    stored only as its keyed hash; it works once and expires."""

    __tablename__ = "clinician_enrollments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    clinician_id: Mapped[str] = mapped_column(ForeignKey("clinicians.id"), index=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    branch_id: Mapped[str | None] = mapped_column(ForeignKey("branches.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # A re-enrollment (a lost or replaced device): this device is revoked on use.
    replaces_device_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ClinicianDevice(Base):
    """An enrolled device: its key's certificate for one workplace, its bearer token
    (keyed hash) and whether it is still active."""

    __tablename__ = "clinician_devices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    clinician_id: Mapped[str] = mapped_column(ForeignKey("clinicians.id"), index=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    branch_id: Mapped[str | None] = mapped_column(ForeignKey("branches.id"))
    enrollment_id: Mapped[str] = mapped_column(ForeignKey("clinician_enrollments.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    certificate_pem: Mapped[str] = mapped_column(Text)
    # The certificate's serial number in hex (CRL and OCSP look it up).
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[DeviceStatus] = mapped_column(_status_column(DeviceStatus))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revocation_reason: Mapped[str | None] = mapped_column(String(40))


class DeviceRequest(Base):
    """A signature prepared for one device: the prepared revision (a blob with an empty
    /Contents), the DER signed attributes the device signs, the PDF it was prepared on.

    One per (signer, device, base PDF): a clinician's devices each get their own (the
    signed attributes name the device's certificate); when another signature lands on
    the envelope first, the request is superseded and prepared again on the new PDF.
    """

    __tablename__ = "device_requests"
    __table_args__ = (
        Index("ix_device_requests_device_status", "device_id", "status"),
        Index("ix_device_requests_signer_status", "signer_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    envelope_id: Mapped[str] = mapped_column(ForeignKey("envelopes.id"), index=True)
    signer_id: Mapped[str] = mapped_column(ForeignKey("signers.id"))
    device_id: Mapped[str] = mapped_column(ForeignKey("clinician_devices.id"))
    status: Mapped[RequestStatus] = mapped_column(_status_column(RequestStatus))
    base_sha256: Mapped[str] = mapped_column(String(64))
    base_version: Mapped[int] = mapped_column(Integer)
    prepared_sha256: Mapped[str] = mapped_column(String(64))
    contents_at: Mapped[int] = mapped_column(Integer)
    contents_end: Mapped[int] = mapped_column(Integer)
    to_sign: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decline_reason: Mapped[str | None] = mapped_column(Text)
