"""Record requests and the organization's deadline."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from medsign.db.base import Base, UTCDateTime, new_id


class RecordRequest(Base):
    """A patient's request for copies of records (what, period, delivery)."""

    __tablename__ = "record_requests"
    __table_args__ = (
        Index("ix_record_requests_org_status_due", "organization_id", "status", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("cabinet_accounts.id"), index=True)
    what: Mapped[str] = mapped_column(Text)
    period_from: Mapped[date | None] = mapped_column(Date)
    period_to: Mapped[date | None] = mapped_column(Date)
    delivery: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))  # open | issued
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    envelope_id: Mapped[str | None] = mapped_column(ForeignKey("envelopes.id"))
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when flagged


class RecordSettings(Base):
    """How many days an organization gives itself to issue records (30 by default)."""

    __tablename__ = "record_settings"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    deadline_days: Mapped[int] = mapped_column(Integer)
