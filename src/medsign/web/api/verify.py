"""``POST /api/v1/verify``: anyone can check a signed PDF (no token)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from pydantic import BaseModel

from medsign.errors import LimitExceeded
from medsign.pdf.validate import validate_pdf
from medsign.web.deps import runtime

router = APIRouter(prefix="/api/v1", tags=["verify"])


class SignatureOut(BaseModel):
    """One signature's verdict."""

    signer: str | None
    signed_at: datetime | None
    method: str | None
    intact: bool
    valid: bool
    trusted: bool


class VerifyOut(BaseModel):
    """The bottom line and each signature."""

    valid: bool
    signatures: list[SignatureOut]
    envelope_id: str | None = None


def verify_bytes(request: Request, data: bytes) -> VerifyOut:
    """Validate ``data`` against the medsign trust roots."""
    rt = runtime(request)
    if len(data) > rt.settings.max_upload_bytes:
        raise LimitExceeded("The file is larger than the upload limit.", limit="max_upload_bytes")
    report = validate_pdf(data, rt.seal_keys.trust_roots())  # type: ignore[arg-type]
    envelope_id = None
    for sig in report.signatures:
        if sig.valid and sig.trusted and sig.evidence:
            envelope_id = str(sig.evidence.get("envelope_id") or "") or envelope_id
    return VerifyOut(
        valid=report.valid,
        signatures=[
            SignatureOut(
                signer=s.signer,
                signed_at=s.signed_at,
                method=s.method,
                intact=s.intact,
                valid=s.valid,
                trusted=s.trusted,
            )
            for s in report.signatures
        ],
        envelope_id=envelope_id,
    )


@router.post("/verify", response_model=VerifyOut)
def verify(request: Request, file: Annotated[UploadFile, File()]) -> VerifyOut:
    """Check every signature of an uploaded PDF."""
    limit = runtime(request).settings.max_upload_bytes
    return verify_bytes(request, file.file.read(limit + 1))
