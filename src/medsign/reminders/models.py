"""Templates, rules, the schedule of due notifications and the ledger of firings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from medsign.db.base import Base, UTCDateTime, new_id, utcnow


class NotificationTemplate(Base):
    """An organization's wording of one event's message in one language."""

    __tablename__ = "notification_templates"
    __table_args__ = (
        UniqueConstraint(
            "organization_id", "event", "lang", name="uq_notification_templates_org_event_lang"
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    event: Mapped[str] = mapped_column(String(40))
    lang: Mapped[str] = mapped_column(String(2))
    subject: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationRule(Base):
    """When to tell patients something, on which channels, in which words."""

    __tablename__ = "notification_rules"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    offset_minutes: Mapped[int] = mapped_column(Integer)
    channels: Mapped[list[str]] = mapped_column(JSON)
    template: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {lang: text}
    services: Mapped[list[str] | None] = mapped_column(JSON)
    statuses: Mapped[list[str] | None] = mapped_column(JSON)
    set_status: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScheduledNotification(Base):
    """A target's next fire time under one rule (one row per rule and target).

    Kept up to date when appointments, patients or rules change, so the scan reads
    only rows whose ``due_at`` has come (the index), never every appointment.
    """

    __tablename__ = "notification_schedule"
    __table_args__ = (
        UniqueConstraint("rule_id", "target_id", name="uq_notification_schedule_rule_target"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(String(36))
    rule_id: Mapped[str] = mapped_column(ForeignKey("notification_rules.id"))
    target_id: Mapped[str] = mapped_column(String(36), index=True)
    occurrence: Mapped[str] = mapped_column(String(80))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class NotificationFiring(Base):
    """A rule fired for a target's occurrence: unique, so it happens once. Its message
    went to the notification queue under the firing's id as idempotency key;
    ``set_status`` waits here until that message is sent, then is applied to the
    appointment and cleared."""

    __tablename__ = "notification_firings"
    __table_args__ = (
        UniqueConstraint("rule_id", "target_id", "occurrence", name="uq_notification_firings_once"),
        Index(
            "ix_notification_firings_set_status",
            "fired_at",
            postgresql_where=text("set_status IS NOT NULL"),
            sqlite_where=text("set_status IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(String(36))
    rule_id: Mapped[str] = mapped_column(ForeignKey("notification_rules.id"))
    target_id: Mapped[str] = mapped_column(String(36))
    occurrence: Mapped[str] = mapped_column(String(80))
    appointment_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(12))  # queued (to delivery) | skipped
    error: Mapped[str | None] = mapped_column(Text)
    set_status: Mapped[str | None] = mapped_column(String(20))
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime)
