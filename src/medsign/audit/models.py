"""The append-only, hash-chained audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from medsign.db.base import Base, UTCDateTime


class AuditEvent(Base):
    """One state change; ``hash`` covers the event and the previous event's hash."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("organization_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(60))
    actor: Mapped[str] = mapped_column(String(120))
    envelope_id: Mapped[str | None] = mapped_column(String(36), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
