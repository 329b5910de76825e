"""Published PKI material: the medsign CA certificate and its CRL (no token).

Stable URLs that validators and archives can point to (ETSI EN 319 142-1 §5.4:
revocation data of the certificates a PAdES B-LT signature relies on):

* ``GET /pki/ca.crt`` — the development CA certificate, DER (``application/pkix-cert``,
  RFC 2585 §4.1);
* ``GET /pki/ca.crl`` — a complete CRL of that CA, DER (``application/pkix-crl``,
  RFC 2585 §4.2), re-signed at most once an hour, valid for seven days;
* ``GET /pki/clinician-ca.crt``, ``GET /pki/clinician-ca.crl`` — the clinician CA
  (issuer of clinicians' device certificates) and its CRL, current on every request;
* ``POST /pki/ocsp``, ``GET /pki/ocsp/{request}`` — its OCSP responder (RFC 6960).
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from urllib.parse import unquote

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from medsign.clinicians.service import certificate_status, revocations
from medsign.pki import CertificateStatus, load_or_create_dev_ca
from medsign.runtime import Runtime
from medsign.web.deps import runtime

router = APIRouter(prefix="/pki", tags=["pki"])

_CRL_MAX_AGE = 3600.0
_crl_cache: dict[str, tuple[float, bytes]] = {}
_lock = threading.Lock()


@router.get(
    "/ca.crt",
    response_class=Response,
    responses={200: {"content": {"application/pkix-cert": {}}}},
)
def ca_certificate(request: Request) -> Response:
    """The medsign development CA certificate (DER)."""
    ca = load_or_create_dev_ca(runtime(request).seal_keys.keys_dir)
    der = ca.certificate.public_bytes(serialization.Encoding.DER)
    return Response(
        der,
        media_type="application/pkix-cert",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get(
    "/ca.crl",
    response_class=Response,
    responses={200: {"content": {"application/pkix-crl": {}}}},
)
def ca_crl(request: Request) -> Response:
    """A current CRL of the medsign development CA (DER)."""
    keys_dir = runtime(request).seal_keys.keys_dir
    with _lock:
        cached = _crl_cache.get(str(keys_dir))
        if cached is None or time.monotonic() - cached[0] > _CRL_MAX_AGE:
            crl = load_or_create_dev_ca(keys_dir).crl()
            cached = (time.monotonic(), crl.public_bytes(serialization.Encoding.DER))
            _crl_cache[str(keys_dir)] = cached
    return Response(
        cached[1],
        media_type="application/pkix-crl",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get(
    "/clinician-ca.crt",
    response_class=Response,
    responses={200: {"content": {"application/pkix-cert": {}}}},
)
def clinician_ca_certificate(request: Request) -> Response:
    """The clinician CA certificate (DER): the issuer of clinicians' device certificates
    (their AIA caIssuers points here, RFC 5280 §4.2.2.1)."""
    der = (
        runtime(request)
        .seal_keys.clinician_ca()
        .certificate.public_bytes(serialization.Encoding.DER)
    )
    return Response(
        der, media_type="application/pkix-cert", headers={"Cache-Control": "public, max-age=3600"}
    )


@router.get(
    "/clinician-ca.crl",
    response_class=Response,
    responses={200: {"content": {"application/pkix-crl": {}}}},
)
def clinician_ca_crl(request: Request) -> Response:
    """A complete CRL of the clinician CA (DER), signed on each request: a revoked
    device is on it at once (RFC 5280 §5; the device certificates' CRL DP)."""
    rt = runtime(request)
    with rt.transaction(write=False) as session:
        revoked = revocations(session)
    crl = rt.seal_keys.clinician_ca().crl(revoked, now=rt.clock())
    return Response(crl, media_type="application/pkix-crl", headers={"Cache-Control": "no-cache"})


def _ocsp_answer(rt: Runtime, request_der: bytes) -> Response:
    def status_of(serial: int) -> CertificateStatus:
        with rt.transaction(write=False) as session:
            return certificate_status(session, serial)

    body = rt.seal_keys.clinician_ca().ocsp_response(request_der, status_of, now=rt.clock())
    return Response(
        body, media_type="application/ocsp-response", headers={"Cache-Control": "no-cache"}
    )


_OCSP_MAX = 10_000


@router.post(
    "/ocsp",
    response_class=Response,
    responses={200: {"content": {"application/ocsp-response": {}}}},
)
async def ocsp_post(request: Request) -> Response:
    """The OCSP responder of the clinician CA (RFC 6960 Appendix A.1, HTTP POST of a DER
    ``application/ocsp-request``). Bad requests get an OCSP ``malformedRequest``."""
    data = await request.body()
    rt = runtime(request)
    if len(data) > _OCSP_MAX:
        data = b""
    return await run_in_threadpool(_ocsp_answer, rt, data)


@router.get(
    "/ocsp/{encoded:path}",
    response_class=Response,
    responses={200: {"content": {"application/ocsp-response": {}}}},
)
def ocsp_get(request: Request, encoded: str) -> Response:
    """The OCSP responder by HTTP GET: the base64 of the DER request, URL-encoded, in
    the path (RFC 6960 Appendix A.1)."""
    try:
        data = base64.b64decode(unquote(encoded)[:_OCSP_MAX], validate=True)
    except (binascii.Error, ValueError):
        data = b""
    return _ocsp_answer(runtime(request), data)
