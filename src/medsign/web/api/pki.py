"""Published PKI material: the medsign CA certificate and its CRL (no token).

Stable URLs that validators and archives can point to (ETSI EN 319 142-1 §5.4:
revocation data of the certificates a PAdES B-LT signature relies on):

* ``GET /pki/ca.crt`` — the development CA certificate, DER (``application/pkix-cert``,
  RFC 2585 §4.1);
* ``GET /pki/ca.crl`` — a complete CRL of that CA, DER (``application/pkix-crl``,
  RFC 2585 §4.2), re-signed at most once an hour, valid for seven days.
"""

from __future__ import annotations

import threading
import time

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Request
from fastapi.responses import Response

from medsign.pki import load_or_create_dev_ca
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
