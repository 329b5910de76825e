"""Envelopes, their signers, PDF versions and one-time code challenges."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from medsign.db.base import Base, UTCDateTime, new_id, utcnow


class Envelope(Base):
    """A document plus its signers, in order groups."""

    __tablename__ = "envelopes"
    # Keyset pagination of the list endpoint, per filter (migration 0010).
    __table_args__ = (
        Index("ix_envelopes_org_updated", "organization_id", "updated_at", "id"),
        Index("ix_envelopes_org_status_updated", "organization_id", "status", "updated_at", "id"),
        Index(
            "ix_envelopes_org_branch_updated", "organization_id", "branch_id", "updated_at", "id"
        ),
        Index("ix_envelopes_org_kind_updated", "organization_id", "kind", "updated_at", "id"),
        Index(
            "ix_envelopes_org_branch_status_updated",
            "organization_id",
            "branch_id",
            "status",
            "updated_at",
            "id",
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    # The branch it belongs to (None: the whole organization); see medsign.branches.
    branch_id: Mapped[str | None] = mapped_column(ForeignKey("branches.id"), index=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    # The document's kind, copied (it never changes) so lists filter and show it without
    # reading the documents table (migration 0011).
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    current_sha256: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=0)
    void_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by the evidence job at completion (medsign.evidence; migration 0007): the
    # certificate of completion (JSON, sealed PDF) and the PAdES B-LTA archive PDF.
    evidence_json_sha256: Mapped[str | None] = mapped_column(String(64))
    evidence_pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    archive_sha256: Mapped[str | None] = mapped_column(String(64))

    signers: Mapped[list[Signer]] = relationship(
        back_populates="envelope", order_by="(Signer.order, Signer.position)"
    )


class Signer(Base):
    """One person who signs (or views) an envelope."""

    __tablename__ = "signers"
    # The list endpoints' ``patient_mis_id`` filter for signers without a patient card
    # (migration 0010; medsign.listing.service._patient_envelopes).
    __table_args__ = (
        Index(
            "ix_signers_patient_mis_id",
            "patient_mis_id",
            "envelope_id",
            postgresql_where=text("patient_id IS NULL AND patient_mis_id IS NOT NULL"),
            sqlite_where=text("patient_id IS NULL AND patient_mis_id IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    envelope_id: Mapped[str] = mapped_column(ForeignKey("envelopes.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    order: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))
    relation: Mapped[str | None] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    method: Mapped[str] = mapped_column(String(20))
    patient_mis_id: Mapped[str | None] = mapped_column(String(100))
    lang: Mapped[str] = mapped_column(String(2), default="en")
    patient_id: Mapped[str | None] = mapped_column(ForeignKey("patients.id"), index=True)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))
    link_version: Mapped[int] = mapped_column(Integer, default=1)
    # Codes sent before this moment no longer count towards the per-signer allowance:
    # the clinic's resend after a lock-out renews it (signer_actions.resend_link).
    otp_allowance_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    link_hash: Mapped[str] = mapped_column(String(64), unique=True)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decline_reason: Mapped[str | None] = mapped_column(Text)
    sealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The short code printed in the signature block (medsign.domain.tokens.verification_code),
    # stored when the signature is sealed so the /verify requisites check can find it.
    verification_code: Mapped[str | None] = mapped_column(String(9), index=True)

    # Method ``idp`` (migration 0012): the provider the signer logs in at, and what the
    # login must prove. The national id is kept only as its keyed hash.
    identity_provider_id: Mapped[str | None] = mapped_column(
        ForeignKey("identity_providers.id"), index=True
    )
    birth_date: Mapped[date | None] = mapped_column(Date)
    national_id_hash: Mapped[str | None] = mapped_column(String(64))
    # Method ``device`` (migration 0016): the clinician whose enrolled device signs.
    clinician_id: Mapped[str | None] = mapped_column(ForeignKey("clinicians.id"), index=True)

    envelope: Mapped[Envelope] = relationship(back_populates="signers")


class EnvelopeVersion(Base):
    """Each PDF an envelope has had: version 0 is the document, each seal adds one."""

    __tablename__ = "envelope_versions"
    __table_args__ = (UniqueConstraint("envelope_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    envelope_id: Mapped[str] = mapped_column(ForeignKey("envelopes.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    signer_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OtpChallenge(Base):
    """One code sent to a signer; the code itself is never stored, only its keyed hash."""

    __tablename__ = "otp_challenges"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    signer_id: Mapped[str] = mapped_column(ForeignKey("signers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    code_hash: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
