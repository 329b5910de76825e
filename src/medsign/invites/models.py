"""The invite row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from medsign.db.base import Base, UTCDateTime, new_id


class PatientInvite(Base):
    """A single-use link (stored only as a keyed hash) that becomes a patient card."""

    __tablename__ = "patient_invites"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    branch_id: Mapped[str | None] = mapped_column(ForeignKey("branches.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    patient_id: Mapped[str | None] = mapped_column(ForeignKey("patients.id"))
    # The consent to personal-data processing exactly as shown, and its language.
    consent_text: Mapped[str | None] = mapped_column(Text)
    consent_lang: Mapped[str | None] = mapped_column(String(2))
