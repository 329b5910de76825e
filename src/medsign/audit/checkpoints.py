"""Checkpoints of the audit chain: the head hash, time-stamped by a TSA (RFC 3161).

A checkpoint fixes "the chain had ``seq`` events ending in ``head_hash``" at a time a
third party (the TSA) vouches for. Whoever later rewrites history, even with full
control of the database, cannot produce a matching time-stamp for the rewritten head
without the TSA's key; :func:`verify_checkpoints` compares every checkpoint with the
chain as it is now.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from medsign.audit.models import AuditEvent
from medsign.db.base import Base, UTCDateTime
from medsign.organizations.models import Organization

# The worker checkpoints a moved chain head at most this often (jobs.handlers.periodic).
CHECKPOINT_INTERVAL = timedelta(hours=1)


class AuditCheckpoint(Base):
    """The chain head of one organization at one moment, with its time-stamp token."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (UniqueConstraint("organization_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    timestamp_token: Mapped[bytes | None] = mapped_column(LargeBinary)


def checkpoint_digest(organization_id: str, seq: int, head_hash: str) -> bytes:
    """What the TSA time-stamps: SHA-256 over the organization, sequence and head hash."""
    return hashlib.sha256(f"medsign-audit:{organization_id}:{seq}:{head_hash}".encode()).digest()


class TokenSource(Protocol):
    """What :class:`medsign.pdf.timestamp.Timestamper` offers: RFC 3161 tokens."""

    def timestamp(self, digest: bytes) -> bytes:
        """A DER TimeStampToken over the SHA-256 ``digest``."""
        ...


def make_checkpoint(
    session: Session, organization_id: str, timestamper: TokenSource | None, *, now: datetime
) -> AuditCheckpoint | None:
    """Record the current chain head (time-stamped when ``timestamper`` is given).

    Returns None when the chain is empty or the head already has a checkpoint.
    """
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.organization_id == organization_id)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    if last is None:
        return None
    seq, head = int(last[0]), str(last[1])
    exists = session.scalar(
        select(AuditCheckpoint.id).where(
            AuditCheckpoint.organization_id == organization_id, AuditCheckpoint.seq == seq
        )
    )
    if exists is not None:
        return None
    token = None
    if timestamper is not None:
        token = timestamper.timestamp(checkpoint_digest(organization_id, seq, head))
    cp = AuditCheckpoint(
        organization_id=organization_id,
        seq=seq,
        head_hash=head,
        created_at=now,
        timestamp_token=token,
    )
    session.add(cp)
    session.flush()
    return cp


def checkpoints_due(
    session: Session, *, now: datetime, interval: timedelta = CHECKPOINT_INTERVAL
) -> list[str]:
    """Organizations whose chain head moved since their last checkpoint, when that
    checkpoint is at least ``interval`` old (or there is none).

    One query: per organization, the head and the last checkpoint are read through
    the ``(organization_id, seq)`` unique indexes, whatever the chains' length.
    """
    head = (
        select(AuditEvent.seq)
        .where(AuditEvent.organization_id == Organization.id)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    last = (
        select(AuditCheckpoint.seq)
        .where(AuditCheckpoint.organization_id == Organization.id)
        .order_by(AuditCheckpoint.seq.desc())
        .limit(1)
    )
    last_at = last.with_only_columns(AuditCheckpoint.created_at).scalar_subquery()
    rows = session.execute(
        select(Organization.id, head, last.scalar_subquery(), last_at).order_by(Organization.id)
    ).all()
    return [
        str(org_id)
        for org_id, head_seq, last_seq, made_at in rows
        if head_seq is not None
        and (last_seq is None or (head_seq > last_seq and made_at <= now - interval))
    ]


@dataclass(frozen=True)
class CheckpointReport:
    """Checkpoints compared with the chain as it is now."""

    checked: int
    first_mismatch_seq: int | None
    detail: str | None = None

    @property
    def intact(self) -> bool:
        """True when every checkpoint matches the chain."""
        return self.first_mismatch_seq is None


def verify_checkpoints(session: Session, organization_id: str) -> CheckpointReport:
    """Each checkpoint's head must still be the hash of event ``seq``, and its token's
    message imprint must be :func:`checkpoint_digest` of it (RFC 3161 §2.4.2)."""
    from asn1crypto import cms

    hashes = dict(
        session.execute(
            select(AuditEvent.seq, AuditEvent.hash).where(
                AuditEvent.organization_id == organization_id
            )
        ).all()
    )
    checked = 0
    for cp in session.scalars(
        select(AuditCheckpoint)
        .where(AuditCheckpoint.organization_id == organization_id)
        .order_by(AuditCheckpoint.seq)
    ):
        checked += 1
        if hashes.get(cp.seq) != cp.head_hash:
            return CheckpointReport(checked, cp.seq, "the event's hash differs from the checkpoint")
        if cp.timestamp_token is not None:
            try:
                signed = cms.ContentInfo.load(cp.timestamp_token)["content"]
                info = signed["encap_content_info"]
                imprint = info["content"].parsed["message_imprint"]["hashed_message"].native
                sound = _token_signature_ok(signed)
            except (ValueError, KeyError, TypeError, IndexError):
                return CheckpointReport(checked, cp.seq, "the time-stamp token is unreadable")
            if imprint != checkpoint_digest(organization_id, cp.seq, cp.head_hash):
                return CheckpointReport(checked, cp.seq, "the time-stamp covers another head")
            if not sound:
                return CheckpointReport(checked, cp.seq, "the time-stamp's signature is broken")
    return CheckpointReport(checked, None)


def _token_signature_ok(signed: Any) -> bool:
    """The token's SignerInfo verifies with the certificate it names (RFC 5652 §5.6).

    The message-digest attribute must equal SHA-256 of the TSTInfo and the signature
    must verify over the DER of the signed attributes (as a SET, tag 0x31).
    """
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    signer = signed["signer_infos"][0]
    sid = signer["sid"].chosen
    content = signed["encap_content_info"]["content"].contents
    attrs = signer["signed_attrs"]
    digests = [a["values"][0].native for a in attrs if a["type"].native == "message_digest"]
    if digests != [hashlib.sha256(content).digest()]:
        return False
    for choice in signed["certificates"] or []:
        cert = choice.chosen
        if cert.issuer == sid["issuer"] and cert.serial_number == sid["serial_number"].native:
            key = x509.load_der_x509_certificate(cert.dump()).public_key()
            data = b"\x31" + attrs.dump()[1:]
            sig = signer["signature"].native
            try:
                if isinstance(key, ec.EllipticCurvePublicKey):
                    key.verify(sig, data, ec.ECDSA(hashes.SHA256()))
                elif isinstance(key, rsa.RSAPublicKey):
                    key.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
                else:
                    return False
            except InvalidSignature:
                return False
            return True
    return False
