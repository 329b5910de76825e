"""``/device/v1``: the API of clinicians' devices (shared/API.md "Clinician devices").

No organization token: enrollment takes the one-time enrollment token, everything else
the device's own bearer token. Used by medsign's clinician app (``/app``) and by any
native app. Signing requests are announced by server-sent events (W3C HTML Living
Standard §9.2, ``text/event-stream``) within a second.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from medsign.clinicians.models import ClinicianDevice
from medsign.clinicians.requests import (
    APPROVE_CHUNK,
    Confirmation,
    PendingRequest,
    approve,
    approve_many,
    confirm_batch,
    decline,
    pending_for,
    request_document,
)
from medsign.clinicians.schemas import (
    ApprovedOut,
    ApproveIn,
    BatchApproveIn,
    BatchItemIn,
    BatchOut,
    DeclineIn,
    DeviceRequestOut,
    EnrolledOut,
    EnrollIn,
    PagesOut,
)
from medsign.clinicians.service import authenticate_device, enroll
from medsign.envelopes.signing import Client
from medsign.errors import DomainError
from medsign.pdf.pages import PAGE_WIDTHS
from medsign.runtime import Runtime
from medsign.web.deps import bearer, runtime
from medsign.web.page_images import VERSION_CHARS, page_image_response
from medsign.web.problems import domain_problem

router = APIRouter(prefix="/device/v1", tags=["clinician devices"])

_BATCH_THREADS = 4  # approvals of one batch in flight at once (PostgreSQL)
_EVENT_POLL_SECONDS = 0.5  # a new request is announced within a second
_HEARTBEAT_SECONDS = 15.0  # keeps proxies from closing an idle stream

_GONE: dict[int | str, dict[str, Any]] = {
    410: {"description": "The link or request has expired or was already used."}
}
_REVOKED: dict[int | str, dict[str, Any]] = {
    403: {"description": "The device was revoked or its certificate expired."}
}


def _client(request: Request) -> Client:
    return Client(
        request.client.host if request.client else None, request.headers.get("user-agent")
    )


def _pem(der_or_cert: Any) -> str:
    return str(der_or_cert.public_bytes(serialization.Encoding.PEM).decode())


@router.post(
    "/enroll",
    status_code=201,
    response_model=EnrolledOut,
    responses={401: {"description": "The enrollment token is not known."}, **_GONE},
)
def enroll_device(request: Request, body: EnrollIn) -> EnrolledOut:
    """Enroll a device: a CSR signed by its ECDSA P-256 key (proof of possession) for
    the enrollment token's clinician and workplace. The device token is shown once."""
    rt = runtime(request)
    with rt.transaction() as session:
        outcome = enroll(
            session,
            rt.keyring,
            rt.seal_keys.clinician_ca(),
            body.enrollment_token.strip(),
            body.csr,
            now=rt.clock(),
            certificate_days=rt.settings.clinician_certificate_days,
            public_url=rt.settings.public_url,
        )
    done = outcome.result()
    return EnrolledOut(
        device_id=done.device.id,
        device_token=done.token,
        certificate=_pem(done.certificate),
        chain=[_pem(c) for c in done.chain],
    )


def _request_out(rt: Runtime, item: PendingRequest) -> DeviceRequestOut:
    req = item.request
    base = rt.settings.public_url.rstrip("/")
    return DeviceRequestOut(
        id=req.id,
        envelope_id=req.envelope_id,
        title=item.title,
        document_url=f"{base}/device/v1/requests/{req.id}/document",
        to_sign=base64.b64encode(req.to_sign).decode(),
        created_at=req.created_at,
        expires_at=req.expires_at,
    )


def _pending(rt: Runtime, token: str | None) -> list[DeviceRequestOut]:
    with rt.transaction(write=False) as session:
        device = authenticate_device(session, rt.keyring, token, now=rt.clock())
        return [_request_out(rt, item) for item in pending_for(session, device, now=rt.clock())]


@router.get("/requests", response_model=list[DeviceRequestOut], responses=_REVOKED)
def list_requests(request: Request) -> list[DeviceRequestOut]:
    """This device's pending signing requests, oldest first."""
    return _pending(runtime(request), bearer(request))


def _request_sha256(rt: Runtime, request: Request, request_id: str) -> str:
    with rt.transaction(write=False) as session:
        device = authenticate_device(session, rt.keyring, bearer(request), now=rt.clock())
        return request_document(session, device, request_id)


@router.get(
    "/requests/{request_id}/document",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **_REVOKED},
)
def document(request: Request, request_id: str) -> Response:
    """The PDF the request was prepared on: what the clinician reads before approving."""
    rt = runtime(request)
    sha256 = _request_sha256(rt, request, request_id)
    return Response(
        rt.files.get(sha256),
        media_type="application/pdf",
        headers={"Cache-Control": "private, no-store", "ETag": f'"{sha256}"'},
    )


@router.get(
    "/requests/{request_id}/pages",
    response_model=PagesOut,
    responses={404: {"description": "No such request for this device."}, **_REVOKED},
)
def pages(request: Request, request_id: str) -> PagesOut:
    """The layout of the request's document for its page images (docs/viewer.md): the
    app shows these first and loads the PDF (and pdf.js) only when asked."""
    rt = runtime(request)
    sha256 = _request_sha256(rt, request, request_id)
    small = PAGE_WIDTHS[0]
    sizes = [size.pixels(small) for size in rt.page_images.layout(sha256)]
    rt.page_images.warm(sha256)  # page 1 is wanted next
    version = sha256[:VERSION_CHARS]
    return PagesOut(
        version=version,
        widths=list(PAGE_WIDTHS),
        sizes=sizes,
        image_url=f"/device/v1/requests/{request_id}/pages/{{n}}.webp?v={version}&w={{w}}",
    )


@router.get(
    "/requests/{request_id}/pages/{name}",
    response_class=Response,
    responses={
        200: {
            "description": "The page drawn as an image (docs/viewer.md).",
            "content": {"image/webp": {}, "image/png": {}},
        },
        304: {"description": "The client's copy (If-None-Match) is current."},
        404: {"description": "No such request, page, width or revision."},
        **_REVOKED,
    },
)
def page_image(request: Request, request_id: str, name: str) -> Response:
    """Page ``<n>.webp`` (or ``.png``) of the request's document, ``?w=480|960&v=...``,
    behind the device's bearer token (the app fetches it and shows a blob URL)."""
    rt = runtime(request)
    return page_image_response(request, rt, _request_sha256(rt, request, request_id), name)


def _approve_one(
    rt: Runtime,
    token: str | None,
    request_id: str,
    signature: str,
    client: Client,
    webauthn: dict[str, Any] | None,
    batch: Confirmation | None = None,
) -> ApprovedOut:
    with rt.transaction() as session:
        device: ClinicianDevice = authenticate_device(session, rt.keyring, token, now=rt.clock())
        outcome = approve(
            rt,
            session,
            device,
            request_id,
            signature,
            client=client,
            webauthn=webauthn,
            now=rt.clock(),
            batch=batch,
        )
    req = outcome.result()
    return ApprovedOut(id=req.id, status="approved", envelope_id=req.envelope_id)


@router.post(
    "/requests/{request_id}/approve", response_model=ApprovedOut, responses={**_GONE, **_REVOKED}
)
def approve_request(request: Request, request_id: str, body: ApproveIn) -> ApprovedOut:
    """Approve: ``signature`` is the device's ECDSA P-256 signature of ``to_sign``
    (base64 of DER or of the 64-byte r||s). Refusals are audited and sign nothing."""
    return _approve_one(
        runtime(request),
        bearer(request),
        request_id,
        body.signature,
        _client(request),
        body.webauthn,
    )


@router.post(
    "/requests/{request_id}/decline", response_model=ApprovedOut, responses={**_GONE, **_REVOKED}
)
def decline_request(request: Request, request_id: str, body: DeclineIn) -> ApprovedOut:
    """Decline with a reason: the envelope ends as declined."""
    rt = runtime(request)
    with rt.transaction() as session:
        device = authenticate_device(session, rt.keyring, bearer(request), now=rt.clock())
        outcome = decline(
            session, device, request_id, body.reason, client=_client(request), now=rt.clock()
        )
    req = outcome.result()
    return ApprovedOut(id=req.id, status="declined", envelope_id=req.envelope_id)


@router.post("/requests/approve", response_model=BatchOut, responses=_REVOKED)
def approve_batch(request: Request, body: BatchApproveIn) -> BatchOut:
    """Approve a batch: each item is judged and signed separately and gets its own
    result (a refused item leaves nothing half-written and does not stop the others);
    up to APPROVE_CHUNK items share a transaction and the rows they read."""
    rt = runtime(request)
    token = bearer(request)
    client = _client(request)
    with rt.transaction() as session:  # a bad token or assertion fails the whole batch
        device = authenticate_device(session, rt.keyring, token, now=rt.clock())
        checked = confirm_batch(
            rt, session, device, [item.id for item in body.items], body.webauthn, now=rt.clock()
        )
    confirmation = checked.result()  # one user verification covers every item
    items = body.items
    chunks = [items[i : i + APPROVE_CHUNK] for i in range(0, len(items), APPROVE_CHUNK)]

    def chunk(part: list[BatchItemIn]) -> list[ApprovedOut]:
        return _approve_chunk(rt, token, part, client, confirmation)

    if rt.engine.dialect.name == "sqlite" or len(chunks) == 1:
        return BatchOut(items=[out for part in chunks for out in chunk(part)])
    # PostgreSQL: chunks lock different envelopes (each in id order), so a few run side
    # by side (their round trips and commits overlap); results keep the given order.
    with ThreadPoolExecutor(max_workers=_BATCH_THREADS) as pool:
        return BatchOut(items=[out for outs in pool.map(chunk, chunks) for out in outs])


def _approve_chunk(
    rt: Runtime,
    token: str | None,
    items: list[BatchItemIn],
    client: Client,
    confirmation: Confirmation,
) -> list[ApprovedOut]:
    """Up to APPROVE_CHUNK items of a batch in one transaction (each judged and signed
    by itself; a refused item writes only its audit record)."""
    try:
        with rt.transaction() as session:
            device = authenticate_device(session, rt.keyring, token, now=rt.clock())
            outcomes = approve_many(
                rt,
                session,
                device,
                [(item.id, item.signature) for item in items],
                client=client,
                batch=confirmation,
                now=rt.clock(),
            )
    except DomainError as exc:  # the device was revoked meanwhile: every item refused
        return [_refused(item.id, exc) for item in items]
    out = []
    for item, outcome in zip(items, outcomes, strict=True):
        if outcome.error is not None:
            out.append(_refused(item.id, outcome.error))
        else:
            req = outcome.result()
            out.append(ApprovedOut(id=req.id, status="approved", envelope_id=req.envelope_id))
    return out


def _refused(request_id: str, exc: DomainError) -> ApprovedOut:
    problem = json.loads(bytes(domain_problem(exc).body))
    return ApprovedOut(id=request_id, status="refused", problem=problem)


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **_REVOKED},
)
async def events(request: Request) -> StreamingResponse:
    """Server-sent events: ``event: request`` with the request (as in ``GET
    /device/v1/requests``) when a new one is pending for this device, ``event:
    revoked`` (and the end of the stream) when the device is revoked."""
    rt = runtime(request)
    token = bearer(request)
    first = await run_in_threadpool(_pending, rt, token)  # 401/403 before the stream opens

    async def stream() -> AsyncIterator[bytes]:
        seen: set[str] = set()
        pending = first
        last = time.monotonic()
        yield b"retry: 1000\n\n"
        while True:
            for item in pending:
                if item.id not in seen:
                    data = item.model_dump_json()
                    yield f"event: request\nid: {item.id}\ndata: {data}\n\n".encode()
                    last = time.monotonic()
            seen = {item.id for item in pending}
            if time.monotonic() - last > _HEARTBEAT_SECONDS:
                yield b": keep-alive\n\n"
                last = time.monotonic()
            await asyncio.sleep(_EVENT_POLL_SECONDS)
            if await request.is_disconnected():
                return
            try:
                pending = await run_in_threadpool(_pending, rt, token)
            except DomainError as exc:
                yield f"event: revoked\ndata: {json.dumps({'detail': exc.detail})}\n\n".encode()
                return

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
