"""The organization's own seal certificate: uploading it (audited) and what is in force."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.branches.service import require_organization_scope
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
    is written last, so a refusal before it leaves the previous seal in force."""
    require_organization_scope("replace the organization's seal")
    info = seal_info(seal)
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
