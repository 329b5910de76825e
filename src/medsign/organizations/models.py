"""Organizations (tenants) and their API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from medsign.db.base import Base, UTCDateTime, new_id, utcnow


class Organization(Base):
    """A legal entity using medsign; nothing of one is visible to another."""

    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    # Per-kind method lists that tighten the default policy (DESIGN.md "policy").
    policy_overrides: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # IANA zone of the clinic (NULL: UTC): appointment times shown, birthdays, quiet
    # hours; quiet hours as minutes after local midnight (NULL: none); the language of
    # scheduled notifications (NULL: the deployment's default).
    time_zone: Mapped[str | None] = mapped_column(String(64))
    quiet_start_minute: Mapped[int | None] = mapped_column(Integer)
    quiet_end_minute: Mapped[int | None] = mapped_column(Integer)
    notification_lang: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    """An organization-scoped API token, stored only as a keyed hash."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    # None: the token acts for the whole organization; else only for this branch.
    branch_id: Mapped[str | None] = mapped_column(ForeignKey("branches.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RegisteredSeal(Base):
    """A seal certificate an organization uploaded, kept after it is replaced.

    The verify page names a signature made with exactly this certificate (SHA-256 of
    its DER) a "registered seal of <organization>" (docs/verification.md); rows are never
    deleted, so PDFs sealed before a replacement keep that status for the period
    ``registered_at`` .. ``replaced_at`` (None: still in force)."""

    __tablename__ = "registered_seals"
    __table_args__ = (Index("ix_registered_seals_sha256", "sha256"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))  # lowercase hex of the DER
    certificate: Mapped[bytes] = mapped_column(LargeBinary)
    subject: Mapped[str] = mapped_column(String(500))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
