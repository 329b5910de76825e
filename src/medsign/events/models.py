"""Envelope events, the source of webhook deliveries (shared/API.md "webhooks")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from medsign.db.base import Base, UTCDateTime


class Event(Base):
    """One event (``envelope.sent``, ``envelope.signed``, ...), ordered per organization."""

    __tablename__ = "events"
    __table_args__ = (
        # The events of an organization still waiting for their fan-out, in order.
        Index(
            "ix_events_fan_out",
            "organization_id",
            "id",
            postgresql_where=text("fanned_out_at IS NULL"),
            sqlite_where=text("fanned_out_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    envelope_id: Mapped[str | None] = mapped_column(String(36), index=True)
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Set when the event's webhook deliveries were created (by the fan-out job).
    fanned_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
