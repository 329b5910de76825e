"""The appointment row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from medsign.db.base import Base, UTCDateTime, new_id, utcnow


class Appointment(Base):
    """One appointment of a patient, keyed by the MIS id within the organization.

    ``status_changed_at`` and ``results_ready_at`` are what the notification rules of
    those events count from (docs/notification-rules.md).
    """

    __tablename__ = "appointments"
    __table_args__ = (
        UniqueConstraint("organization_id", "mis_id", name="uq_appointments_org_mis_id"),
        Index("ix_appointments_patient_starts", "patient_id", "starts_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    branch_id: Mapped[str | None] = mapped_column(ForeignKey("branches.id"))
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    mis_id: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    doctor: Mapped[str] = mapped_column(String(200))
    service: Mapped[str] = mapped_column(String(200))
    telemedicine: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    results_ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
