"""The organization's own seal certificate: uploading it (audited) and what is in force."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.branches.service import require_organization_scope
from medsign.organizations.models import Organization, RegisteredSeal
from medsign.pki.keys import SealKey
from medsign.pki.seal_upload import SealInfo, seal_info, store_uploaded_seal


def upload_seal(
    session: Session,
    directory: Path,
    organization_id: str,
    seal: SealKey,
    *,
    now: datetime,
    actor: str,
) -> SealInfo:
    """Make ``seal`` (already checked by :func:`medsign.pki.seal_upload.parse_seal_upload`)
    the organization's seal from the next signature on; organization scope only.

    The audit event names the certificate (subject, SHA-256, end of validity); the file
    is written last, so a refusal before it leaves the previous seal in force. The
    certificate is registered (:class:`RegisteredSeal`) and the one it replaces keeps its
    row with the end of its period, so PDFs sealed with it still verify as registered."""
    require_organization_scope("replace the organization's seal")
    info = seal_info(seal)
    _register(session, organization_id, seal, now)
    record(
        session,
        organization_id,
        "seal.uploaded",
        at=now,
        actor=actor,
        data={
            "sha256": info.sha256,
            "subject": info.subject,
            "not_after": info.not_after.isoformat(),
        },
    )
    session.flush()
    store_uploaded_seal(directory, seal)
    return info


def _register(session: Session, organization_id: str, seal: SealKey, now: datetime) -> None:
    """Close the period of the seal in force and record the new one. The organization
    row is locked first, so two uploads at once leave exactly one seal in force."""
    session.execute(
        select(Organization.id).where(Organization.id == organization_id).with_for_update()
    )
    session.execute(
        update(RegisteredSeal)
        .where(
            RegisteredSeal.organization_id == organization_id,
            RegisteredSeal.replaced_at.is_(None),
        )
        .values(replaced_at=now)
    )
    der = seal.certificate.public_bytes(serialization.Encoding.DER)
    session.add(
        RegisteredSeal(
            organization_id=organization_id,
            sha256=hashlib.sha256(der).hexdigest(),
            certificate=der,
            subject=seal.certificate.subject.rfc4514_string()[:500],
            registered_at=now,
        )
    )


@dataclass(frozen=True)
class Registration:
    """One period during which an organization had a certificate registered as its seal."""

    organization_name: str
    registered_at: datetime
    replaced_at: datetime | None


def registrations(session: Session, sha256s: Iterable[str]) -> dict[str, list[Registration]]:
    """SHA-256 (lowercase hex of the DER) -> the periods it was registered, oldest first;
    certificates nobody registered are absent."""
    wanted = sorted({s for s in sha256s if s})
    if not wanted:
        return {}
    rows = session.execute(
        select(
            RegisteredSeal.sha256,
            Organization.name,
            RegisteredSeal.registered_at,
            RegisteredSeal.replaced_at,
        )
        .join(Organization, Organization.id == RegisteredSeal.organization_id)
        .where(RegisteredSeal.sha256.in_(wanted))
        .order_by(RegisteredSeal.registered_at, RegisteredSeal.id)
    ).all()
    found: dict[str, list[Registration]] = {}
    for sha, name, registered_at, replaced_at in rows:
        found.setdefault(sha, []).append(Registration(name, registered_at, replaced_at))
    return found
