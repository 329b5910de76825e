"""A bulk send and its rows (one patient each)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from medsign.db.base import Base, UTCDateTime, new_id, utcnow


class BulkSend(Base):
    """One document sent to every patient of an uploaded CSV by one staff member."""

    __tablename__ = "bulk_sends"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    branch_id: Mapped[str | None] = mapped_column(ForeignKey("branches.id"))
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff_members.id"))
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"))
    method: Mapped[str | None] = mapped_column(String(20))  # None: per contact
    total: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BulkRow(Base):
    """One patient of a bulk send and what became of them."""

    __tablename__ = "bulk_rows"
    __table_args__ = (UniqueConstraint("bulk_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bulk_id: Mapped[str] = mapped_column(ForeignKey("bulk_sends.id"))
    position: Mapped[int] = mapped_column(Integer)  # the CSV line (1 = first patient)
    name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued, sent, failed
    envelope_id: Mapped[str | None] = mapped_column(String(36))
    error: Mapped[str | None] = mapped_column(Text)


class SignerTemplate(Base):
    """Signers saved for reuse on the send page: whether the clinic's seal signs first,
    and who else gets the document (a copy to a fixed address, e.g. the accountant).
    The patient is always the one typed on the form."""

    __tablename__ = "signer_templates"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    branch_id: Mapped[str | None] = mapped_column(ForeignKey("branches.id"))
    name: Mapped[str] = mapped_column(String(100))
    seal_first: Mapped[bool] = mapped_column(default=False)
    # [{"name", "contact"}]: viewers who receive the signed copy.
    copies: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Conversion(Base):
    """A send whose files are normalized by a job, not in the request (large files, or
    office documents that LibreOffice converts): the send page polls its status."""

    __tablename__ = "console_conversions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    branch_id: Mapped[str | None] = mapped_column(ForeignKey("branches.id"))
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff_members.id"))
    # queued -> converting -> ready | failed (with the reason)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    reason: Mapped[str | None] = mapped_column(Text)
    # The send form's fields and the stored files (SHA-256, name, declared type).
    form: Mapped[dict[str, str]] = mapped_column(JSON)
    sources: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    envelope_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
