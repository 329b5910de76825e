"""``/api/v1/envelopes``: create, read, download, void."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError

from medsign.envelopes.queries import load_envelope
from medsign.envelopes.schemas import (
    EnvelopeIn,
    EnvelopeOut,
    SealIn,
    SignerPatch,
    VoidIn,
    reaches_by_sms,
)
from medsign.envelopes.service import create_envelope, envelope_out, void_envelope
from medsign.envelopes.signer_actions import apply_seal, resend_link, update_signer
from medsign.evidence.service import artifact_sha256
from medsign.idempotency.service import lookup, remember, request_hash
from medsign.usage.service import check_limits, local_day
from medsign.web.api.documents import pdf_response
from medsign.web.deps import org_transaction, runtime

router = APIRouter(prefix="/api/v1/envelopes", tags=["envelopes"])


@router.post(
    "",
    status_code=201,
    response_model=EnvelopeOut,
    responses={402: {"description": "A monthly plan limit is used up (`plan-limit`)."}},
)
def create(
    request: Request,
    body: EnvelopeIn,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Create an envelope; the first order group is invited at once.

    With an ``Idempotency-Key`` header a retry with the same body returns the first
    response; the same key with a different body is a 422 problem.
    """
    rt = runtime(request)
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()
    fingerprint = request_hash("POST", request.url.path, canonical)
    for attempt in range(2):
        try:
            with org_transaction(request) as (session, org_id):
                if idempotency_key is not None:
                    stored = lookup(session, org_id, idempotency_key, fingerprint)
                    if stored is not None:
                        return JSONResponse(stored[1], status_code=stored[0])
                check_limits(  # 402 plan-limit when this month's allowance is used up
                    session,
                    org_id,
                    sends_sms=reaches_by_sms(body),
                    today=local_day(rt.clock(), rt.settings.time_zone),
                )
                env = create_envelope(
                    session,
                    rt.keyring,
                    org_id,
                    body,
                    now=rt.clock(),
                    default_ttl=timedelta(days=rt.settings.envelope_ttl_days),
                    default_lang=rt.settings.default_lang,
                )
                out: dict[str, Any] = envelope_out(
                    env, rt.keyring, rt.settings.public_url
                ).model_dump(mode="json")
                if idempotency_key is not None:
                    remember(session, org_id, idempotency_key, fingerprint, 201, out)
        except IntegrityError:
            if idempotency_key is None or attempt:
                raise
            continue  # a concurrent request with the same key won; return its response
        return JSONResponse(out, status_code=201)
    raise AssertionError("unreachable")


@router.get("/{envelope_id}", response_model=EnvelopeOut)
def read(request: Request, envelope_id: str) -> EnvelopeOut:
    """The envelope and each signer's status."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        env = load_envelope(session, org_id, envelope_id)
        return envelope_out(env, rt.keyring, rt.settings.public_url)


@router.get(
    "/{envelope_id}/pdf",
    response_class=Response,
    responses={
        200: {
            "description": "The PDF with every signature so far.",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def pdf(request: Request, envelope_id: str) -> Response:
    """The PDF with every signature applied so far."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        env = load_envelope(session, org_id, envelope_id)
        sha256 = env.current_sha256
    return pdf_response(rt.files.get(sha256), f"{envelope_id}.pdf")


def _artifact(request: Request, envelope_id: str, artifact: str) -> bytes:
    """A completion artifact (medsign.evidence.service.artifact_sha256: 404 until ready)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        sha256 = artifact_sha256(load_envelope(session, org_id, envelope_id), artifact)
    return rt.files.get(sha256)


@router.get(
    "/{envelope_id}/evidence.json",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
def evidence_json(request: Request, envelope_id: str) -> Response:
    """The certificate of completion as JSON (404 problem until the envelope completed)."""
    return Response(_artifact(request, envelope_id, "evidence.json"), media_type="application/json")


@router.get("/{envelope_id}/evidence.pdf", response_class=Response)
def evidence_pdf(request: Request, envelope_id: str) -> Response:
    """The certificate of completion as a sealed PDF in the patient's language."""
    data = _artifact(request, envelope_id, "evidence.pdf")
    return pdf_response(data, f"{envelope_id}-evidence.pdf")


@router.get("/{envelope_id}/archive.pdf", response_class=Response)
def archive_pdf(request: Request, envelope_id: str) -> Response:
    """The final PDF plus validation data and a document time-stamp (PAdES B-LTA)."""
    data = _artifact(request, envelope_id, "archive.pdf")
    return pdf_response(data, f"{envelope_id}-archive.pdf")


@router.post("/{envelope_id}/void", response_model=EnvelopeOut)
def void(request: Request, envelope_id: str, body: VoidIn) -> EnvelopeOut:
    """Void an envelope that has not ended; its links stop working."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        env = void_envelope(session, org_id, envelope_id, body.reason, now=rt.clock())
        return envelope_out(env, rt.keyring, rt.settings.public_url)


@router.post("/{envelope_id}/signers/{signer_id}/resend", response_model=EnvelopeOut)
def resend(request: Request, envelope_id: str, signer_id: str) -> EnvelopeOut:
    """Send the signing link again to a signer whose turn it is."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        env = resend_link(
            session, org_id, envelope_id, signer_id, now=rt.clock(), rules=rt.otp_rules
        )
        out = envelope_out(env, rt.keyring, rt.settings.public_url)
    return out


@router.patch("/{envelope_id}/signers/{signer_id}", response_model=EnvelopeOut)
def update(request: Request, envelope_id: str, signer_id: str, body: SignerPatch) -> EnvelopeOut:
    """Change a signer's name, contact or method before they sign (the old link dies)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        env = update_signer(
            session, rt.keyring, org_id, envelope_id, signer_id, body, now=rt.clock()
        )
        out = envelope_out(env, rt.keyring, rt.settings.public_url)
    return out


@router.post("/{envelope_id}/signers/{signer_id}/seal", response_model=EnvelopeOut)
def seal(request: Request, envelope_id: str, signer_id: str, body: SealIn) -> EnvelopeOut:
    """Sign for the clinic with the organization's seal (signer method ``seal``)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        env = apply_seal(session, org_id, envelope_id, signer_id, body, now=rt.clock())
        out = envelope_out(env, rt.keyring, rt.settings.public_url)
    return out
