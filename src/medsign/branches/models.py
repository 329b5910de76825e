"""Branches of an organization (DESIGN.md "Domain": an Organization has Branches)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from medsign.db.base import Base, UTCDateTime, new_id, utcnow


class Branch(Base):
    """One branch (site, department) of an organization.

    A branch-scoped API token sees only the documents, envelopes and webhook
    subscriptions of its branch (issue [integration] item 1).
    """

    __tablename__ = "branches"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
