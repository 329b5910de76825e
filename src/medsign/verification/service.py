"""Look-ups behind ``/verify``: issued versions by hash, and the requisites check.

Both answer questions anyone may ask without a token, so they reveal no content and
no personal data beyond what the signature block printed on the document already
shows (the signer's initials, the time, the method).
"""

from __future__ import annotations

import hmac
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from medsign.domain.states import SignerStatus
from medsign.domain.tokens import Keyring, verification_code
from medsign.envelopes.models import Envelope, EnvelopeVersion, Signer
from medsign.errors import InvalidInput

_CODE = re.compile(r"^[2-9A-HJ-NP-Z]{8}$")  # medsign.domain.tokens alphabet, no 0/O/1/I


@dataclass(frozen=True)
class IssuedVersion:
    """The envelope version whose PDF has exactly the uploaded bytes."""

    envelope_id: str
    version: int
    latest_version: int

    @property
    def newer_version_exists(self) -> bool:
        """A later seal added a signature: the uploaded file is an older version."""
        return self.latest_version > self.version


def find_issued_version(session: Session, sha256: str) -> IssuedVersion | None:
    """The envelope version with this SHA-256 (the newest one if several match)."""
    row = session.execute(
        select(EnvelopeVersion.envelope_id, EnvelopeVersion.version, Envelope.version)
        .join(Envelope, Envelope.id == EnvelopeVersion.envelope_id)
        .where(EnvelopeVersion.sha256 == sha256)
        .order_by(EnvelopeVersion.version.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return IssuedVersion(envelope_id=row[0], version=int(row[1]), latest_version=int(row[2]))


def normalize_code(code: str) -> str:
    """``7kq4 m2xd`` -> ``7KQ4-M2XD``; :class:`InvalidInput` when it cannot be a code."""
    compact = re.sub(r"[\s\-]", "", code).upper()
    if not _CODE.match(compact):
        raise InvalidInput(
            "The verification code has 8 letters and digits, like 7KQ4-M2XD "
            "(printed in the signature block).",
            field="code",
        )
    return f"{compact[:4]}-{compact[4:]}"


def normalize_document_id(document_id: str) -> str:
    """A document id is a UUID; :class:`InvalidInput` otherwise."""
    try:
        return str(uuid.UUID(document_id.strip()))
    except ValueError:
        raise InvalidInput(
            "The document id is the long identifier printed in the signature block.",
            field="document_id",
        ) from None


@dataclass(frozen=True)
class RequisitesResult:
    """Whether a signature with these requisites exists, and what the block printed."""

    found: bool
    document_id: str
    signed_at: datetime | None = None
    method: str | None = None
    signer_initials: str | None = None
    envelope_status: str | None = None
    latest_sha256: str | None = None


def initials(name: str) -> str:
    """``Иванова Мария Петровна`` -> ``И. М. П.``: enough to match, not to identify."""
    return " ".join(f"{part[0]}." for part in name.split() if part[:1].isalpha())[:20]


def check_requisites(
    session: Session, keyring: Keyring, document_id: str, code: str
) -> RequisitesResult:
    """Does document ``document_id`` carry a sealed signature with verification ``code``?"""
    doc_id = normalize_document_id(document_id)
    wanted = normalize_code(code)
    rows = session.execute(
        select(Signer, Envelope)
        .join(Envelope, Envelope.id == Signer.envelope_id)
        .where(Envelope.document_id == doc_id, Signer.status == SignerStatus.SIGNED.value)
        .where(Signer.sealed_at.is_not(None))
    ).all()
    for signer, envelope in rows:
        # Codes are stored at sealing; older rows are recomputed from the keyring.
        actual = signer.verification_code or verification_code(keyring, signer.id)
        if hmac.compare_digest(actual, wanted):
            return RequisitesResult(
                found=True,
                document_id=doc_id,
                signed_at=signer.signed_at,
                method=signer.method,
                signer_initials=initials(signer.name),
                envelope_status=envelope.status,
                latest_sha256=envelope.current_sha256,
            )
    return RequisitesResult(found=False, document_id=doc_id)
