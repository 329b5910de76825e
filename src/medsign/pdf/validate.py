"""Validation of every signature in a PDF, through pyHanko (the reference validator).

Integrity (the digest over the /ByteRange, ISO 32000-1 §12.8.1), the CMS signature
(RFC 5652 §5.6), the chain to the given trust roots (RFC 5280 §6) and pyHanko's
modification analysis of later revisions are combined into one report per signature.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from medsign.errors import InvalidDocument
from medsign.pdf.reference import run_sync
from medsign.pdf.seal import read_evidence

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignatureReport:
    """The verdict on one signature."""

    field_name: str
    signer: str | None
    signed_at: datetime | None
    method: str | None
    intact: bool
    valid: bool
    trusted: bool
    evidence: dict[str, Any] | None


@dataclass(frozen=True)
class ValidationReport:
    """The verdict on a document: one report per signature."""

    signatures: tuple[SignatureReport, ...]

    @property
    def valid(self) -> bool:
        """At least one signature, and every signature intact and valid."""
        return bool(self.signatures) and all(s.intact and s.valid for s in self.signatures)


def validate_pdf(data: bytes, trust_roots: Sequence[x509.Certificate] = ()) -> ValidationReport:
    """Validate every signature in ``data``; garbage input raises :class:`InvalidDocument`.

    Safe to call from a worker thread or from a thread whose event loop is running.
    """
    if b"%PDF-" not in data[:1024]:
        raise InvalidDocument("The file is not a PDF.")
    roots = [
        asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in trust_roots
    ]
    try:
        evidence = read_evidence(data)
    except InvalidDocument:
        raise
    return run_sync(_validate(data, roots, evidence))


async def _validate(
    data: bytes, roots: list[Any], evidence: dict[str, dict[str, Any]]
) -> ValidationReport:
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        embedded = list(reader.embedded_signatures)
    except (PdfError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise InvalidDocument("The PDF cannot be read.") from exc
    reports = []
    for sig in embedded:
        reports.append(await _one(sig, roots, evidence))
    return ValidationReport(tuple(reports))


async def _one(sig: Any, roots: list[Any], evidence: dict[str, dict[str, Any]]) -> SignatureReport:
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    name = str(sig.field_name)
    ev = evidence.get(name)
    signer = _evidence_str(ev, "signer_name", "name", "signer")
    method = _evidence_str(ev, "method")
    signed_at: datetime | None = None
    intact = valid = trusted = False
    try:
        signed_at = sig.self_reported_timestamp
        context = ValidationContext(trust_roots=roots, allow_fetching=False)
        status = await async_validate_pdf_signature(sig, signer_validation_context=context)
        intact = bool(status.intact)
        valid = bool(status.intact and status.valid and status.docmdp_ok is not False)
        trusted = bool(valid and status.trusted)
        if signer is None:
            signer = _common_name(status.signing_cert)
    except Exception as exc:  # a broken signature is a verdict, not a crash
        log.info("signature %s could not be validated: %s", name, exc)
    return SignatureReport(
        field_name=name,
        signer=signer,
        signed_at=signed_at,
        method=method,
        intact=intact,
        valid=valid,
        trusted=trusted,
        evidence=ev,
    )


def _evidence_str(ev: dict[str, Any] | None, *keys: str) -> str | None:
    if ev is None:
        return None
    for key in keys:
        value = ev.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict):
            inner = value.get("name")
            if isinstance(inner, str) and inner:
                return inner
    return None


def _common_name(cert: Any) -> str | None:
    if cert is None:
        return None
    try:
        cn = cert.subject.native.get("common_name")
    except (AttributeError, ValueError):
        return None
    return cn if isinstance(cn, str) else None
