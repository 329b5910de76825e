"""Documents: one normalized PDF, the thing that is signed, and the files it was made of."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from medsign.db.base import Base, UTCDateTime, new_id, utcnow


class Document(Base):
    """A normalized PDF with its SHA-256 (the bytes are in the file store)."""

    __tablename__ = "documents"
    # Keyset pagination of the list endpoint (migration 0010).
    __table_args__ = (
        Index("ix_documents_org_created", "organization_id", "created_at", "id"),
        Index(
            "ix_documents_org_branch_created", "organization_id", "branch_id", "created_at", "id"
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    # The branch it belongs to (None: the whole organization); see medsign.branches.
    branch_id: Mapped[str | None] = mapped_column(ForeignKey("branches.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    pages: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    source_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sources: Mapped[list[DocumentSource]] = relationship(
        order_by="DocumentSource.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )


class DocumentSource(Base):
    """One uploaded file a document was made of (its bytes are not kept)."""

    __tablename__ = "document_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    pages: Mapped[int] = mapped_column(Integer)
