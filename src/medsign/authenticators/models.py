"""The WebAuthn credentials of clinician devices (migration 0017)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from medsign.db.base import Base, UTCDateTime, new_id, utcnow


class AuthenticatorCredential(Base):
    """One public-key credential of a device's platform authenticator (WebAuthn §6.1).

    ``sign_count`` is the last signature counter seen (WebAuthn §6.1.1); an assertion
    whose counter does not move past it is refused as a cloned or replayed one.
    """

    __tablename__ = "authenticator_credentials"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    device_id: Mapped[str] = mapped_column(ForeignKey("clinician_devices.id"), index=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1023), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE_Key (RFC 9052 §7)
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    aaguid: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
