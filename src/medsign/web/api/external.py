"""External qualified signatures for a signer (docs/external-signatures.md):
``POST /api/v1/envelopes/{id}/signers/{signer_id}/external`` (an uploaded signed PDF or
detached CMS), ``.../external/csc`` (signed by medsign through a registered CSC
service) and ``/api/v1/csc-services``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from cryptography import x509
from fastapi import APIRouter, File, Request, UploadFile

from medsign.envelopes.schemas import EnvelopeOut
from medsign.envelopes.service import envelope_out
from medsign.errors import DomainError, InvalidInput, LimitExceeded
from medsign.external import service
from medsign.external.csc import sign_pdf_remotely
from medsign.external.schemas import CscServiceIn, CscServiceList, CscServiceOut, CscSignIn
from medsign.pdf.external import ExternalSignature, validate_detached, validate_signed_pdf
from medsign.pki import load_trust_list
from medsign.runtime import Runtime
from medsign.web.deps import org_transaction, runtime

router = APIRouter(tags=["external signatures"])

_REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such envelope or signer (`not-found`)."},
    409: {
        "description": "The signer may not sign now: another method, already signed, not "
        "their turn, the envelope ended, or its PDF changed meanwhile (`conflict`)."
    },
    413: {"description": "The file is over the upload limit (`limit-exceeded`)."},
    422: {
        "description": "The signature cannot be accepted; `reason` says why: not-a-pdf, "
        "not-cms, different-document, changes-not-allowed, digest-mismatch, "
        "invalid-signature, untrusted-certificate, certificate-expired, ... "
        "(`external-signature-rejected`)."
    },
}
# What a check returns: the verdict, and the bytes to keep (signed PDF or CMS).
Check = Callable[[bytes], tuple[ExternalSignature, bytes]]


def trust_roots(rt: Runtime) -> list[x509.Certificate]:
    """The configured external trust list (empty: nothing external is trusted)."""
    path = rt.settings.external_trust_roots
    return load_trust_list(path) if path is not None else []


def _requester(
    request: Request, channel: str, svc: dict[str, str] | None = None
) -> service.Requester:
    host = request.client.host if request.client else None
    return service.Requester(channel, host, request.headers.get("user-agent"), svc)


def _accept(
    request: Request,
    envelope_id: str,
    signer_id: str,
    check: Check,
    requester: service.Requester,
) -> EnvelopeOut:
    """Check outside any transaction (CPU and network), then record; refusals audited."""
    rt = runtime(request)
    try:
        with org_transaction(request) as (session, org_id):
            issued = service.issued_version(session, org_id, envelope_id, signer_id, now=rt.clock())
        checked, keep = check(rt.files.get(issued.sha256))
        with org_transaction(request) as (session, org_id):
            env = service.accept(
                session, rt.files, org_id, issued, checked, keep, requester, now=rt.clock()
            )
            return envelope_out(env, rt.keyring, rt.settings.public_url)
    except DomainError as exc:
        with org_transaction(request) as (session, org_id):
            service.audit_refusal(
                session, org_id, envelope_id, signer_id, exc, requester.channel, now=rt.clock()
            )
        raise


@router.post(
    "/api/v1/envelopes/{envelope_id}/signers/{signer_id}/external",
    response_model=EnvelopeOut,
    responses=_REFUSALS,
)
def upload_external(
    request: Request,
    envelope_id: str,
    signer_id: str,
    file: Annotated[UploadFile, File(description="The signed PDF, or a detached CMS (.sig).")],
) -> EnvelopeOut:
    """Accept a qualified signature made elsewhere for a signer with method ``external``:
    either the envelope's current PDF signed in an incremental update (one new PAdES
    signature, nothing else changed), or a detached CMS/CAdES signature whose message
    digest is the SHA-256 of the current PDF. The certificate must chain to
    ``MEDSIGN_EXTERNAL_TRUST_ROOTS`` and be valid now. medsign then adds its own signature
    block with the evidence; the envelope goes on as after any signature."""
    rt = runtime(request)
    limit = rt.settings.max_upload_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise LimitExceeded("The file is larger than the upload limit.", limit="max_upload_bytes")
    if not data:
        raise InvalidInput("The uploaded file is empty.", field="file")
    roots = trust_roots(rt)
    now = rt.clock()
    # DER (a CMS SEQUENCE, 0x30) is a .sig even when it carries a PDF inside.
    is_pdf = data[:1] != b"\x30" and b"%PDF-" in data[:1024]
    validate = validate_signed_pdf if is_pdf else validate_detached

    def check(issued: bytes) -> tuple[ExternalSignature, bytes]:
        checked = validate(issued, data, roots, now=now)
        return checked, checked.detached_cms or data  # a CMS is kept as DER

    return _accept(request, envelope_id, signer_id, check, _requester(request, "api"))


@router.post(
    "/api/v1/envelopes/{envelope_id}/signers/{signer_id}/external/csc",
    response_model=EnvelopeOut,
    responses={
        **_REFUSALS,
        502: {
            "description": "The CSC service failed; nothing was signed (`signing-service-failed`)."
        },
    },
)
def sign_with_csc(
    request: Request, envelope_id: str, signer_id: str, body: CscSignIn
) -> EnvelopeOut:
    """Sign for a signer with method ``external`` through a registered CSC service: medsign
    asks the service (credentials/info, credentials/authorize with the PIN/OTP given,
    signatures/signHash) to sign the current PDF with ``credential_id``, then checks the
    result exactly like an uploaded signed PDF."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        access = service.service_access(
            rt.keyring, service.get_service(session, org_id, body.service_id)
        )
    roots = trust_roots(rt)

    def check(issued: bytes) -> tuple[ExternalSignature, bytes]:
        endpoint = service.endpoint_for(
            access,
            timeout=rt.settings.csc_timeout_seconds,
            allow_private=rt.settings.csc_allow_private,
        )
        signed = sign_pdf_remotely(
            issued,
            endpoint,
            body.credential_id,
            field_name=f"qes-{signer_id}",
            pin=body.pin,
            otp=body.otp,
        )
        return validate_signed_pdf(issued, signed, roots, now=rt.clock()), signed

    svc = {"service_id": body.service_id, "credential_id": body.credential_id}
    return _accept(request, envelope_id, signer_id, check, _requester(request, "csc", svc))


@router.post(
    "/api/v1/csc-services",
    status_code=201,
    response_model=CscServiceOut,
    responses={422: {"description": "Bad URL or credentials, or no CSC service answers."}},
)
def register(request: Request, body: CscServiceIn) -> CscServiceOut:
    """Register a remote signing service (CSC API). Its ``info`` endpoint is called to
    check it answers; the secret (access token or OAuth client secret) is stored
    encrypted and never shown again."""
    rt = runtime(request)
    with org_transaction(request) as (_session, _org_id):
        pass  # authenticate before calling out
    info = service.check_service(
        body,
        allow_http=rt.settings.csc_allow_http,
        allow_private=rt.settings.csc_allow_private,
        timeout=rt.settings.csc_timeout_seconds,
    )
    with org_transaction(request) as (session, org_id):
        row = service.register_service(session, rt.keyring, org_id, body, info, now=rt.clock())
        return service.service_out(row)


@router.get("/api/v1/csc-services", response_model=CscServiceList)
def list_services(request: Request) -> CscServiceList:
    """Every CSC service of the organization."""
    with org_transaction(request) as (session, org_id):
        return CscServiceList(
            items=[service.service_out(r) for r in service.list_services(session, org_id)]
        )
