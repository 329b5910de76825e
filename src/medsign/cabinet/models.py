"""Cabinet accounts, their login codes and sessions, attachments to clinics, attach
codes, user-agreement acceptances and files shared with a clinic (migration 0021);
identities at providers linked to accounts (migration 0029)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from medsign.db.base import Base, UTCDateTime, new_id, utcnow


class CabinetAccount(Base):
    """A person keyed by one verified contact (E.164 phone or email, normalized)."""

    __tablename__ = "cabinet_accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    contact: Mapped[str] = mapped_column(String(254), unique=True)
    channel: Mapped[str] = mapped_column(String(10))  # "sms" | "email"
    lang: Mapped[str] = mapped_column(String(2), default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CabinetIdentity(Base):
    """An identity at a provider (issuer, subject) that logs in to one cabinet account.

    Unique on (issuer, subject): two accounts can never hold one identity; the provider
    through which it was linked is kept for the pages (its name)."""

    __tablename__ = "cabinet_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("cabinet_accounts.id"), index=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("identity_providers.id"))
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CabinetLoginCode(Base):
    """One login code sent to a contact; only its keyed hash is kept."""

    __tablename__ = "cabinet_login_codes"
    __table_args__ = (Index("ix_cabinet_login_codes_contact_sent", "contact", "sent_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    contact: Mapped[str] = mapped_column(String(254))
    channel: Mapped[str] = mapped_column(String(10))
    lang: Mapped[str] = mapped_column(String(2), default="en")
    code_hash: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CabinetSession(Base):
    """A logged-in device; the cookie's token is kept only as its keyed hash."""

    __tablename__ = "cabinet_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("cabinet_accounts.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    login_method: Mapped[str] = mapped_column(String(20))  # "code" | "idp"
    login_code_id: Mapped[str | None] = mapped_column(String(36))
    identity_provider_id: Mapped[str | None] = mapped_column(ForeignKey("identity_providers.id"))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CabinetSettings(Base):
    """An organization's cabinet settings: its user agreement and the attach-code
    channel priority (phone first, email as fallback, or the reverse)."""

    __tablename__ = "cabinet_settings"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    user_agreement_document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id"))
    attach_channel_priority: Mapped[str] = mapped_column(String(20), default="phone_first")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AttachCode(Base):
    """A 9-digit code that joins a cabinet to a patient card; kept as its keyed hash,
    single-use, expiring. Issuing a new one for the card replaces the unused ones."""

    __tablename__ = "attach_codes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by: Mapped[str | None] = mapped_column(String(36))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AttachFailure(Base):
    """A wrong attach code typed in a cabinet (brute-force limits count these)."""

    __tablename__ = "attach_failures"
    __table_args__ = (
        Index("ix_attach_failures_account_at", "account_id", "at"),
        Index("ix_attach_failures_ip_at", "ip_hash", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(36))
    ip_hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class PatientLink(Base):
    """A cabinet attached to one organization's patient card. At most one live link per
    card (partial unique index), so a code typed twice at once attaches once."""

    __tablename__ = "patient_links"
    __table_args__ = (
        Index(
            "uq_patient_links_live_patient",
            "patient_id",
            unique=True,
            postgresql_where=text("detached_at IS NULL"),
            sqlite_where=text("detached_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("cabinet_accounts.id"), index=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    attach_code_id: Mapped[str] = mapped_column(String(36))
    attached_at: Mapped[datetime] = mapped_column(UTCDateTime)
    detached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detached_by: Mapped[str | None] = mapped_column(String(20))  # mis | staff | patient


class AgreementAcceptance(Base):
    """An organization's user agreement accepted in the cabinet: a signed envelope."""

    __tablename__ = "cabinet_agreements"
    __table_args__ = (UniqueConstraint("organization_id", "account_id", "document_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("cabinet_accounts.id"), index=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"))
    envelope_id: Mapped[str] = mapped_column(ForeignKey("envelopes.id"))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SharedFile(Base):
    """A file the patient shared with a clinic from the cabinet's "Documents" section."""

    __tablename__ = "cabinet_shared_files"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("cabinet_accounts.id"))
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
