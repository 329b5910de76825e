"""Usage records (append-only, one per counted event and metric) and plan limits.

Why append-only rows and not one counter row per (organization, branch, day, metric)
updated with ``INSERT ... ON CONFLICT DO UPDATE``: such an upsert holds the counter
row's lock until its transaction commits, so every signature of an organization on one
day would queue behind the seal transaction before it — the hot row the first audit
log was (docs/concurrency.md). An insert of a new row locks nothing anyone else waits
for; the unique ``(key, metric)`` makes a retried job or a re-run seal count once.
Reads sum the rows of a range over the ``(organization_id, day)`` index.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from medsign.db.base import Base, UTCDateTime


class UsageRecord(Base):
    """``amount`` of ``metric`` used by one event (``key``: the signer or the job)."""

    __tablename__ = "usage_records"
    __table_args__ = (
        UniqueConstraint("key", "metric", name="uq_usage_records_key_metric"),
        Index("ix_usage_records_org_day", "organization_id", "day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    # The envelope's branch (None: the organization itself); no foreign key, so the
    # record outlives nothing it would have to lock.
    branch_id: Mapped[str | None] = mapped_column(String(36))
    day: Mapped[date] = mapped_column(Date)  # in MEDSIGN_TIME_ZONE
    metric: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PlanLimit(Base):
    """An organization's monthly limit of one metric (``signatures`` or ``sms``)."""

    __tablename__ = "plan_limits"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    metric: Mapped[str] = mapped_column(String(40), primary_key=True)
    monthly_limit: Mapped[int] = mapped_column(Integer)
