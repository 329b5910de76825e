"""An organization's brand (one row per organization, absent until set)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from medsign.db.base import Base, UTCDateTime, utcnow


class Branding(Base):
    """What the signing page, the cabinet, messages and signature blocks show for one
    organization. Logos are stored re-encoded by medsign (never the uploaded bytes)."""

    __tablename__ = "brandings"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    # Colours as "#rrggbb", checked against WCAG 2.2 AA contrast with white text.
    primary_color: Mapped[str | None] = mapped_column(String(7))
    accent_color: Mapped[str | None] = mapped_column(String(7))
    # Display name of e-mail From and the SMS sender where the gateway takes one.
    sender_name: Mapped[str | None] = mapped_column(String(64))
    # Host name (no scheme, no port) that the organization's links use; unique.
    custom_domain: Mapped[str | None] = mapped_column(String(253), unique=True)
    # The logo re-encoded as PNG for pages, and as JPEG (on white) for signature blocks.
    logo_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    logo_jpeg: Mapped[bytes | None] = mapped_column(LargeBinary)
    logo_width: Mapped[int] = mapped_column(Integer, default=0)
    logo_height: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped on every change: the stylesheet and logo URLs carry it (cache busting).
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
