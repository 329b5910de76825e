"""Open verification (no token): ``POST /api/v1/verify``, the requisites check, ``POST /tsa``.

The documented fields of ``POST /api/v1/verify`` (shared/API.md) are ``valid``,
``signatures[].{signer, signed_at, method, intact, valid}`` and ``envelope_id``; the
rest is added around them. Every endpoint here is public and rate-limited per client
address (:mod:`medsign.web.ratelimit`).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from medsign.errors import InvalidInput, LimitExceeded
from medsign.organizations.seal import Registration, registrations
from medsign.pdf import SignatureReport
from medsign.pdf.isolated import ClientGone, IsolatedValidator, Limits
from medsign.pdf.timestamp import LocalTsa
from medsign.verification.service import IssuedVersion, check_requisites, find_issued_version
from medsign.verification.trust import Trust, classify, unregistered_candidates
from medsign.web.api.external import trust_roots as external_trust_roots
from medsign.web.deps import runtime
from medsign.web.ratelimit import verify_limit

router = APIRouter(tags=["verify"])  # full paths: /tsa sits outside /api/v1


class SignatureOut(BaseModel):
    """One signature's verdict."""

    signer: str | None
    signed_at: datetime | None = Field(
        description="The signing time the signature claims (/M, ISO 32000-1 §12.8.1)."
    )
    method: str | None
    identity_issuer: str | None = Field(
        default=None, description="Method idp: the identity provider that vouched (OIDC iss)."
    )
    identity_subject: str | None = Field(
        default=None, description="Method idp: the person's subject at that provider (sub)."
    )
    certificate: str | None = Field(
        default=None,
        description="Method external: the signer's certificate (subject, serial, issuer) "
        "as medsign checked it when the signature was accepted.",
    )
    intact: bool = Field(description="The signed bytes are unchanged (digest over /ByteRange).")
    valid: bool = Field(
        description="The bottom line for this signature: intact, cryptographically valid, "
        "trusted, only allowed changes after it, and its time-stamp valid if it has one."
    )
    cryptographically_valid: bool = Field(description="The CMS signature verifies (RFC 5652).")
    trusted: bool = Field(
        description="The certificate chains to the medsign CA or a trust root, or is a seal "
        "certificate an organization registered with medsign (see trust)."
    )
    trust: str | None = Field(
        default=None,
        description="Why it is trusted: medsign-ca (chains to medsign's CA), trust-root "
        "(chains to a configured external trust root) or registered-seal (exactly a seal "
        "certificate registered by the organization in registered_by); absent when not.",
    )
    registered_by: str | None = Field(
        default=None, description="trust registered-seal: the organization's name."
    )
    registered_from: datetime | None = Field(
        default=None, description="trust registered-seal: when the certificate was registered."
    )
    registered_until: datetime | None = Field(
        default=None,
        description="trust registered-seal: when another certificate replaced it (absent: "
        "still in force).",
    )
    issuer: str | None = None
    field: str = Field(description="The PDF signature field name.")
    timestamp: datetime | None = Field(
        default=None, description="Time from the RFC 3161 signature-time-stamp (PAdES B-T)."
    )
    timestamp_valid: bool | None = Field(
        default=None, description="The time-stamp token verifies and its TSA is trusted."
    )
    covers_whole_document: bool
    changes_after: str = Field(
        description="none (covers the whole file), allowed (only later signatures or form "
        "filling), not_allowed (content changed after signing) or unknown."
    )
    reasons: list[str] = Field(default_factory=list, description="Why it is not valid.")


class VerifyOut(BaseModel):
    """The bottom line and each signature."""

    valid: bool
    signatures: list[SignatureOut]
    envelope_id: str | None = None
    issued_by_medsign: bool = Field(
        default=False, description="This exact file is a version medsign produced."
    )
    newer_version_exists: bool = Field(
        default=False, description="The envelope has a later version (more signatures)."
    )
    sha256: str
    reasons: list[str] = Field(default_factory=list)


class RequisitesOut(BaseModel):
    """Whether the document carries a signature with this verification code."""

    found: bool
    document_id: str
    signed_at: datetime | None = None
    method: str | None = None
    signer_initials: str | None = None
    envelope_status: str | None = None
    latest_sha256: str | None = Field(
        default=None, description="SHA-256 of the newest signed PDF, to compare with a copy."
    )


_validator_lock = threading.Lock()


def validator(request: Request) -> IsolatedValidator:
    """The app's bounded validator (built from the ``MEDSIGN_VERIFY_*`` settings once)."""
    state = request.app.state
    with _validator_lock:
        found = getattr(state, "verify_validator", None)
        if found is None:
            s = runtime(request).settings
            found = IsolatedValidator(
                Limits(
                    max_signatures=s.verify_max_signatures,
                    seconds=s.verify_time_limit_seconds,
                    memory_bytes=s.verify_memory_mb * 1024 * 1024,
                    processes=s.verify_processes,
                    queue_seconds=min(5.0, s.verify_time_limit_seconds),
                )
            )
            state.verify_validator = found
    assert isinstance(found, IsolatedValidator)
    return found


def _idp_field(evidence: object, key: str) -> str | None:
    """``evidence.idp.<key>`` of a signature made through an identity provider."""
    idp = evidence.get("idp") if isinstance(evidence, dict) else None
    value = idp.get(key) if isinstance(idp, dict) else None
    return value if isinstance(value, str) else None


def _external_certificates(signatures: Sequence[SignatureReport]) -> dict[str, str]:
    """Field name -> certificate description, for the signatures that medsign's own
    signature (valid) vouches were accepted as method ``external``: the external field
    itself and medsign's field of the same signer."""
    found: dict[str, str] = {}
    for s in signatures:
        ext = s.evidence.get("external") if s.ok and isinstance(s.evidence, dict) else None
        cert = ext.get("certificate") if isinstance(ext, dict) else None
        if not isinstance(ext, dict) or not isinstance(cert, dict):
            continue
        text = f"{cert.get('subject')} (serial {cert.get('serial')}, issuer {cert.get('issuer')})"
        found[s.field_name] = text
        if isinstance(ext.get("field"), str):
            found[ext["field"]] = text
    return found


def _trust_fields(trust: Trust | None) -> dict[str, Any]:
    """The additive ``trust`` / ``registered_*`` fields of one signature."""
    if trust is None:
        return {}
    reg = trust.registration
    if reg is None:
        return {"trust": trust.kind}
    return {
        "trust": trust.kind,
        "registered_by": reg.organization_name,
        "registered_from": reg.registered_at,
        "registered_until": reg.replaced_at,
    }


async def verify_bytes(request: Request, data: bytes) -> VerifyOut:
    """Validate ``data`` against the medsign trust roots and look the file up.

    The work is bounded (:mod:`medsign.pdf.isolated`): over a limit the request gets a
    problem naming it, and the check stops when the client goes away.
    """
    rt = runtime(request)
    if len(data) > rt.settings.max_upload_bytes:
        raise LimitExceeded("The file is larger than the upload limit.", limit="max_upload_bytes")
    if not data:
        raise InvalidInput("The uploaded file is empty; choose the signed PDF.", field="file")
    sha256 = hashlib.sha256(data).hexdigest()

    def lookup() -> IssuedVersion | None:
        with rt.transaction() as session:
            return find_issued_version(session, sha256)

    issued = await run_in_threadpool(lookup)
    medsign_roots = await run_in_threadpool(rt.seal_keys.trust_roots)
    roots = medsign_roots + await run_in_threadpool(external_trust_roots, rt)
    # An issued version was written revision by revision by medsign itself, so the fast
    # verifier may skip the difference analysis (medsign.pdf.fastverify).
    check = validator(request)
    report = await check.validate(
        data, roots, issued=issued is not None, cancelled=request.is_disconnected
    )
    candidates = unregistered_candidates(report)

    def registered() -> dict[str, list[Registration]]:
        with rt.transaction() as session:
            return registrations(session, candidates)

    periods = await run_in_threadpool(registered) if candidates else {}
    if periods:
        # Again through pyHanko, each registered certificate pinned as the anchor of the
        # signatures made with exactly it (medsign.verification.trust).
        report = await check.validate(
            data,
            roots,
            issued=issued is not None,
            cancelled=request.is_disconnected,
            pinned=frozenset(periods),
        )
    report, trust = await run_in_threadpool(classify, report, medsign_roots, periods)
    envelope_id = issued.envelope_id if issued is not None else None
    if envelope_id is None:
        for sig in report.signatures:
            if sig.ok and sig.evidence:
                envelope_id = str(sig.evidence.get("envelope_id") or "") or envelope_id
    external = _external_certificates(report.signatures)
    reasons = list(report.reasons)
    if issued is not None and issued.newer_version_exists:
        reasons.append("A newer version of this document (with more signatures) exists.")
    return VerifyOut(
        valid=report.ok,
        signatures=[
            SignatureOut(
                signer=s.signer,
                signed_at=s.signed_at,
                method="external" if s.field_name in external else s.method,
                certificate=external.get(s.field_name),
                identity_issuer=_idp_field(s.evidence, "issuer"),
                identity_subject=_idp_field(s.evidence, "subject"),
                intact=s.intact,
                valid=s.ok,
                cryptographically_valid=s.valid,
                trusted=s.trusted,
                **_trust_fields(trust.get(s.field_name)),
                issuer=s.issuer,
                field=s.field_name,
                timestamp=s.timestamp_at,
                timestamp_valid=s.timestamp_valid,
                covers_whole_document=s.covers_whole_document,
                changes_after=s.changes_after,
                reasons=list(s.reasons),
            )
            for s in report.signatures
        ],
        envelope_id=envelope_id,
        issued_by_medsign=issued is not None,
        newer_version_exists=bool(issued and issued.newer_version_exists),
        sha256=sha256,
        reasons=reasons,
    )


def requisites(request: Request, document_id: str, code: str) -> RequisitesOut:
    """Check a document id and verification code (as typed or from the QR link)."""
    rt = runtime(request)
    with rt.transaction() as session:
        result = check_requisites(session, rt.keyring, document_id, code)
    return RequisitesOut(
        found=result.found,
        document_id=result.document_id,
        signed_at=result.signed_at,
        method=result.method,
        signer_initials=result.signer_initials,
        envelope_status=result.envelope_status,
        latest_sha256=result.latest_sha256,
    )


@router.post("/api/v1/verify", response_model=VerifyOut, dependencies=[Depends(verify_limit)])
async def verify(request: Request, file: Annotated[UploadFile, File()]) -> Response:
    """Check every signature of an uploaded PDF (no token needed)."""
    limit = runtime(request).settings.max_upload_bytes
    try:
        result = await verify_bytes(request, await file.read(limit + 1))
    except ClientGone:
        return Response(status_code=499)  # nobody reads it (nginx's "client closed request")
    return JSONResponse(result.model_dump(mode="json"))


@router.get(
    "/api/v1/verify/requisites", response_model=RequisitesOut, dependencies=[Depends(verify_limit)]
)
def verify_requisites(
    request: Request,
    document_id: Annotated[str, Query(max_length=64)],
    code: Annotated[str, Query(max_length=32)],
) -> RequisitesOut:
    """Does this document carry a signature with this verification code? No content shown."""
    return requisites(request, document_id, code)


@router.post(
    "/tsa",
    dependencies=[Depends(verify_limit)],
    response_class=Response,
    responses={200: {"content": {"application/timestamp-reply": {}}}},
)
async def tsa(request: Request) -> Response:
    """The built-in TSA over HTTP (RFC 3161 §3.4): a DER TimeStampReq in, TimeStampResp out."""
    rt = runtime(request)
    if request.headers.get("content-type", "").split(";")[0].strip() != (
        "application/timestamp-query"
    ):
        raise InvalidInput("Send a DER TimeStampReq as application/timestamp-query.")
    body = await request.body()
    if len(body) > 64 * 1024:
        raise LimitExceeded("A time-stamp request is a few hundred bytes.", limit="tsa_request")
    stamper = rt.seal_keys.timestamper()
    if not isinstance(stamper, LocalTsa):
        raise InvalidInput("This deployment uses an external TSA; ask it directly.")
    from starlette.concurrency import run_in_threadpool

    reply = await run_in_threadpool(stamper.respond, body)
    return Response(reply, media_type="application/timestamp-reply")
