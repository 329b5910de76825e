"""Validation of every signature in a PDF, through pyHanko (the reference validator).

Integrity (the digest over the /ByteRange, ISO 32000-1 §12.8.1), the CMS signature
(RFC 5652 §5.6), the chain to the given trust roots (RFC 5280 §6) and pyHanko's
modification analysis of later revisions are combined into one report per signature.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

import pikepdf
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from medsign.errors import EncryptedDocument, InvalidDocument, VerificationLimit
from medsign.pdf.reference import run_sync
from medsign.pdf.seal import read_evidence
from medsign.pdf.speedups import install as _install_speedups

log = logging.getLogger(__name__)

_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[")
_install_speedups()
# The most signature fields one file may carry before validation is refused: pyHanko's
# change analysis runs once per signature over every later revision, so the work grows
# with the square of the count (MEDSIGN_VERIFY_MAX_SIGNATURES overrides it per call).
DEFAULT_MAX_SIGNATURES = 50


# How the bytes after a signature relate to it (pyHanko's difference analysis of the
# later revisions, ISO 32000-1 §12.8.2.2 DocMDP and §12.7.5 form filling).
CHANGES_NONE = "none"  # the signature covers the whole file
CHANGES_ALLOWED = "allowed"  # later revisions only add signatures / fill in fields
CHANGES_NOT_ALLOWED = "not_allowed"  # later revisions change content (pages, streams...)
CHANGES_UNKNOWN = "unknown"  # the analysis could not run (broken signature)
# The ``method`` reported for a document time-stamp (PAdES B-LTA archive).
DOCUMENT_TIMESTAMP = "document_timestamp"


@dataclass(frozen=True)
class SignatureReport:
    """The verdict on one signature.

    ``valid`` is the cryptographic verdict (the digest over /ByteRange matches and
    the CMS signature verifies, RFC 5652 §5.6); ``trusted`` says the certificate
    chains to a trust root; :attr:`ok` is the bottom line.
    """

    field_name: str
    signer: str | None
    signed_at: datetime | None
    method: str | None
    intact: bool
    valid: bool
    trusted: bool
    evidence: dict[str, Any] | None
    timestamp_at: datetime | None = None
    timestamp_valid: bool | None = None  # None: no signature-time-stamp (PAdES B-B)
    covers_whole_document: bool = False
    changes_after: str = CHANGES_UNKNOWN
    issuer: str | None = None
    reasons: tuple[str, ...] = ()
    # DER of the signing certificate, when the CMS names one.
    signing_certificate: bytes | None = None
    # Trusted only because the signing certificate itself was a pinned anchor (a seal an
    # organization registered: docs/verification.md), not through a chain to a root.
    pinned: bool = False

    @property
    def signing_cert_sha256(self) -> str | None:
        """Lowercase hex SHA-256 of the signing certificate's DER."""
        der = self.signing_certificate
        return hashlib.sha256(der).hexdigest() if der is not None else None

    @property
    def ok(self) -> bool:
        """Intact, valid, trusted, only allowed changes after it, time-stamp good if any."""
        return (
            self.intact
            and self.valid
            and self.trusted
            and self.changes_after in (CHANGES_NONE, CHANGES_ALLOWED)
            and self.timestamp_valid is not False
        )


@dataclass(frozen=True)
class ValidationReport:
    """The verdict on a document: one report per signature."""

    signatures: tuple[SignatureReport, ...]
    removed_signatures: int = 0  # signature dictionaries no form field points to any more

    @property
    def valid(self) -> bool:
        """At least one signature, and every signature intact and valid."""
        return bool(self.signatures) and all(s.intact and s.valid for s in self.signatures)

    @property
    def ok(self) -> bool:
        """The bottom line: signatures, each :attr:`SignatureReport.ok`, none removed."""
        return (
            bool(self.signatures)
            and all(s.ok for s in self.signatures)
            and self.removed_signatures == 0
        )

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the document is not :attr:`ok` (empty when it is)."""
        if not self.signatures:
            return ("The file has no signatures.",)
        out: list[str] = []
        for s in self.signatures:
            out.extend(f"{s.field_name}: {r}" for r in s.reasons)
        if self.removed_signatures:
            out.append(
                f"{self.removed_signatures} signature(s) of an earlier revision were removed "
                "from the document."
            )
        return tuple(out)


def validate_pdf(
    data: bytes,
    trust_roots: Sequence[x509.Certificate] = (),
    *,
    issued: bool = False,
    fast: bool = True,
    max_signatures: int = DEFAULT_MAX_SIGNATURES,
    pinned: frozenset[str] = frozenset(),
) -> ValidationReport:
    """Validate every signature in ``data``; garbage input raises :class:`InvalidDocument`.

    An encrypted file raises :class:`EncryptedDocument`. Safe to call from a worker
    thread or from a thread whose event loop is running.

    With ``fast`` (the default) files of the shape medsign seals are checked by
    :func:`medsign.pdf.fastverify.fast_validate` (same verdicts, a fraction of the
    time); everything else, and ``fast=False``, goes through pyHanko. ``issued``: the
    caller knows this exact file is an envelope version medsign produced.

    A file with more than ``max_signatures`` filled signature fields raises
    :class:`VerificationLimit` before any signature is checked; fields whose /V is the
    same signature dictionary are checked once (the others are reported as copies).

    ``pinned``: SHA-256 (hex) of certificates each trusted as an anchor for the one
    signature made with exactly that certificate, when it chains to no trust root; such
    a signature is validated again by pyHanko with only its own certificate as the trust
    anchor, at its signing time, and reported with ``pinned`` (always the pyHanko path).
    """
    if fast and not pinned:
        from medsign.pdf.fastverify import fast_validate

        quick = fast_validate(data, trust_roots, issued=issued, max_fields=max_signatures)
        if quick is not None:
            return quick
    if b"%PDF-" not in data[:1024]:
        raise InvalidDocument("The file is not a PDF.")
    roots = [
        asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in trust_roots
    ]
    _refuse_encrypted(data)
    evidence = read_evidence(data)
    return run_sync(_validate(data, roots, evidence, max_signatures, pinned))


def _refuse_encrypted(data: bytes) -> None:
    """Signed PDFs medsign verifies are not encrypted (ISO 32000-1 §7.6)."""
    try:
        with pikepdf.open(io.BytesIO(data)) as doc:
            encrypted = doc.is_encrypted
    except pikepdf.PasswordError as exc:
        raise EncryptedDocument(
            "The PDF is encrypted with a password; medsign verifies only unencrypted PDFs."
        ) from exc
    except pikepdf.PdfError as exc:
        raise InvalidDocument("The file is not a readable PDF.") from exc
    if encrypted:
        raise EncryptedDocument(
            "The PDF is encrypted; medsign verifies only unencrypted PDFs. "
            "Upload the file exactly as medsign issued it."
        )


def _too_many(limit: int) -> VerificationLimit:
    return VerificationLimit(
        f"The file has more than {limit} signature fields; medsign checks at most {limit} "
        "per file (MEDSIGN_VERIFY_MAX_SIGNATURES); a document signed through medsign has far "
        "fewer.",
        limit="verify_max_signatures",
        max_signatures=limit,
    )


async def _validate(
    data: bytes,
    roots: list[Any],
    evidence: dict[str, dict[str, Any]],
    max_signatures: int,
    pinned: frozenset[str] = frozenset(),
) -> ValidationReport:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.fields import enumerate_sig_fields
    from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        # Stop listing one past the cap: a file with 10,000 fields costs no more than 51.
        fields = list(islice(enumerate_sig_fields(reader, filled_status=True), max_signatures + 1))
    except MemoryError:  # over the memory bound (medsign.pdf.isolated): not a verdict
        raise
    except Exception as exc:  # pyHanko on a hostile file: PdfError, zlib.error, ...
        raise InvalidDocument("The PDF cannot be read.") from exc
    if len(fields) > max_signatures:
        raise _too_many(max_signatures)
    found: list[tuple[int, Any]] = []
    broken: list[SignatureReport] = []
    first_field: dict[tuple[int, int], str] = {}
    copies = 0
    for fq_name, _sig_obj, sig_field in fields:
        ref = _value_ref(sig_field)
        if ref is not None and ref in first_field:
            # ISO 32000-1 §12.7.4.5: each signature field has its own signature
            # dictionary. A second field naming the same one could show another name
            # beside a signature made once; it is checked once and reported as a copy.
            broken.append(_copy(str(fq_name), first_field[ref]))
            copies += 1
            continue
        if ref is not None:
            first_field[ref] = str(fq_name)
        try:
            embedded = EmbeddedPdfSignature(reader, sig_field, fq_name)
            found.append((embedded.signed_revision, embedded))
        except MemoryError:
            raise
        except Exception as exc:  # an unreadable /Contents or /ByteRange is a verdict
            log.info("signature %s is unreadable: %s", fq_name, exc)
            broken.append(_broken(str(fq_name), evidence.get(str(fq_name)), type(exc).__name__))
    reports = [
        await _one(sig, roots, evidence, pinned) for _rev, sig in sorted(found, key=lambda x: x[0])
    ]
    reports.extend(broken)
    return ValidationReport(tuple(reports), _orphans(data, len(fields) - copies))


def _value_ref(sig_field: Any) -> tuple[int, int] | None:
    """(object number, generation) of the field's /V when it is an indirect reference."""
    try:
        field = sig_field.get_object() if hasattr(sig_field, "get_object") else sig_field
        raw = field.raw_get("/V")
    except (KeyError, AttributeError, TypeError):
        return None
    idnum, generation = getattr(raw, "idnum", None), getattr(raw, "generation", None)
    if isinstance(idnum, int) and isinstance(generation, int):
        return idnum, generation
    return None


def _copy(name: str, original: str) -> SignatureReport:
    return SignatureReport(
        field_name=name,
        signer=None,
        signed_at=None,
        method=None,
        intact=False,
        valid=False,
        trusted=False,
        evidence=None,
        reasons=(f"The field reuses the signature of field {original}: a copy, not a signature.",),
    )


def _orphans(data: bytes, attached: int) -> int:
    """Signature dictionaries (with /ByteRange) in the file that no field points to.

    An incremental update can drop a signature field from the form (ISO 32000-1
    §12.7.2) while its dictionary stays in an earlier revision: a signature removed.
    """
    return max(0, len(_BYTE_RANGE.findall(data)) - attached)


def _broken(name: str, ev: dict[str, Any] | None, what: str) -> SignatureReport:
    return SignatureReport(
        field_name=name,
        signer=_evidence_str(ev, "signer_name", "name", "signer"),
        signed_at=None,
        method=_evidence_str(ev, "method"),
        intact=False,
        valid=False,
        trusted=False,
        evidence=ev,
        reasons=(f"The signature cannot be checked: its data is unreadable ({what}).",),
    )


async def _pinned_trust(sig: Any, cert: Any, at: datetime | None) -> bool:
    """Is ``sig`` valid with its own signing certificate ``cert`` as the only trust
    anchor, that certificate valid at ``at`` (RFC 5280 §6.1 with a one-certificate path:
    the anchor is the certificate itself, so nothing it issued is trusted)?"""
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    context = ValidationContext(trust_roots=[cert], allow_fetching=False, moment=at)
    status = await async_validate_pdf_signature(sig, signer_validation_context=context)
    same = status.signing_cert is not None and status.signing_cert.dump() == cert.dump()
    return bool(same and status.intact and status.valid and status.trusted)


async def _one(
    sig: Any,
    roots: list[Any],
    evidence: dict[str, dict[str, Any]],
    pinned: frozenset[str] = frozenset(),
) -> SignatureReport:
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import (
        SignatureCoverageLevel,
        async_validate_pdf_signature,
        async_validate_pdf_timestamp,
    )
    from pyhanko_certvalidator import ValidationContext

    name = str(sig.field_name)
    ev = evidence.get(name)
    signer = _evidence_str(ev, "signer_name", "name", "signer")
    method = _evidence_str(ev, "method")
    signed_at: datetime | None = None
    intact = valid = trusted = whole = False
    ts_at: datetime | None = None
    ts_valid: bool | None = None
    changes = CHANGES_UNKNOWN
    issuer: str | None = None
    reasons: list[str] = []
    cert_der: bytes | None = None
    by_pin = False
    doc_ts = sig.sig_object_type == "/DocTimeStamp"
    try:
        context = ValidationContext(trust_roots=roots, allow_fetching=False)
        status: Any
        if doc_ts:
            # A document time-stamp (ISO 32000-2 §12.8.5, PAdES B-LTA): an RFC 3161
            # token over the byte range; no /M, no signer, no signature-time-stamp.
            method = method or DOCUMENT_TIMESTAMP
            status = await async_validate_pdf_timestamp(sig, validation_context=context)
            signed_at = status.timestamp
        else:
            signed_at = sig.self_reported_timestamp
            status = await async_validate_pdf_signature(sig, signer_validation_context=context)
        intact = bool(status.intact)
        valid = bool(status.intact and status.valid)
        trusted = bool(valid and status.trusted)
        whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        level = status.modification_level
        if whole:
            changes = CHANGES_NONE
        elif (
            status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
            and level is not None
            and level <= ModificationLevel.FORM_FILLING
            and status.docmdp_ok is not False
        ):
            changes = CHANGES_ALLOWED
        elif level is not None:
            changes = CHANGES_NOT_ALLOWED
        tv = None if doc_ts else status.timestamp_validity
        if doc_ts:
            ts_at = status.timestamp
            ts_valid = trusted
        if tv is not None:
            ts_at = tv.timestamp
            ts_valid = bool(tv.intact and tv.valid and tv.trusted)
        if signer is None:
            signer = _common_name(status.signing_cert)
        issuer = _common_name(getattr(status.signing_cert, "issuer", None), subject=False)
        if status.signing_cert is not None:
            cert_der = status.signing_cert.dump()
        sha = hashlib.sha256(cert_der).hexdigest() if cert_der is not None else None
        if valid and not trusted and not doc_ts and sha in pinned:
            at = ts_at if ts_valid else signed_at
            by_pin = trusted = await _pinned_trust(sig, status.signing_cert, at)
        if not status.intact:
            reasons.append("The signed bytes were changed after signing (digest mismatch).")
        elif not status.valid:
            reasons.append("The signature value does not verify against its certificate.")
        elif not trusted:
            reasons.append(
                "The certificate does not chain to a trusted root "
                "(the medsign CA or a configured trust root)."
            )
        if changes == CHANGES_NOT_ALLOWED:
            reasons.append(
                "The file was changed after this signature in a way signing does not allow "
                "(pages, content or fields were added, removed or replaced)."
            )
        if ts_valid is False:
            reasons.append("The signature time-stamp (RFC 3161) is not valid or not trusted.")
    except MemoryError:
        raise
    except Exception as exc:  # a broken signature is a verdict, not a crash
        log.info("signature %s could not be validated: %s", name, exc)
        reasons.append(f"The signature cannot be checked ({type(exc).__name__}).")
    return SignatureReport(
        field_name=name,
        signer=signer,
        signed_at=signed_at,
        method=method,
        intact=intact,
        valid=valid,
        trusted=trusted,
        evidence=ev,
        timestamp_at=ts_at,
        timestamp_valid=ts_valid,
        covers_whole_document=whole,
        changes_after=changes,
        issuer=issuer,
        reasons=tuple(reasons),
        signing_certificate=cert_der,
        pinned=by_pin,
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


def _common_name(cert: Any, subject: bool = True) -> str | None:
    """The common name of a certificate's subject (or, given a Name, of that name)."""
    if cert is None:
        return None
    try:
        name = cert.subject if subject else cert
        cn = name.native.get("common_name")
    except (AttributeError, ValueError):
        return None
    return cn if isinstance(cn, str) else None
