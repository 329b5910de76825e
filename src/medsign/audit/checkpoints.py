"""Checkpoints of the first release's audit chains (before migration 0008), and the
RFC 3161 token check shared with the transparency log's checkpoints.

New checkpoints are signed notes of the Merkle log (:mod:`medsign.audit.sequencer`);
these remain so that chains written before stay verifiable. A checkpoint fixed "the
chain had ``seq`` events ending in ``head_hash``" at a time a third party (the TSA)
vouches for; :func:`verify_checkpoints` compares every checkpoint with the chain as it
is now.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from medsign.audit.models import AuditEvent
from medsign.db.base import Base, UTCDateTime


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
    """What the TSA time-stamped: SHA-256 over the organization, sequence and head hash."""
    return hashlib.sha256(f"medsign-audit:{organization_id}:{seq}:{head_hash}".encode()).digest()


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
        if cp.timestamp_token is not None and not token_matches(
            cp.timestamp_token, checkpoint_digest(organization_id, cp.seq, cp.head_hash)
        ):
            return CheckpointReport(
                checked, cp.seq, "the time-stamp does not cover this head or is broken"
            )
    return CheckpointReport(checked, None)


def token_matches(token: bytes, digest: bytes) -> bool:
    """An RFC 3161 token whose message imprint is ``digest`` (RFC 3161 §2.4.2) and whose
    signature verifies with the certificate it carries."""
    from asn1crypto import cms

    try:
        signed = cms.ContentInfo.load(token)["content"]
        info = signed["encap_content_info"]
        imprint = info["content"].parsed["message_imprint"]["hashed_message"].native
        return bool(imprint == digest and _token_signature_ok(signed))
    except (ValueError, KeyError, TypeError, IndexError):
        return False


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
