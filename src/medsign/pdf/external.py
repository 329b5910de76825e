"""Checking a signature made outside medsign over a version medsign issued.

Two shapes are accepted (docs/external-signatures.md):

* a PDF: the issued version followed by incremental updates (ISO 32000-1 §7.5.6) that
  add exactly one PAdES signature (ETSI EN 319 142-1) and nothing but signatures and
  form filling (pyHanko's difference analysis, ISO 32000-1 §12.8.2.2);
* a detached CMS SignedData (RFC 5652 §5, CAdES ETSI EN 319 122-1) whose
  message-digest attribute (RFC 5652 §11.2) is the SHA-256 of the issued bytes.

In both the signature must verify and its certificate must chain (RFC 5280 §6) to a
configured trust root and be within its validity period. No database, no web.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pikepdf
from asn1crypto import cms as asn1_cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from medsign.errors import ExternalSignatureRejected
from medsign.pdf.intake import find_active_content
from medsign.pdf.reference import run_sync

log = logging.getLogger(__name__)

# Russian qualified certificates name the holder with these attributes (order of the
# FSB of Russia no. 795 of 27.12.2011, appendix 1; 63-FZ art. 17).
RUSSIAN_NAME_OIDS = {
    "1.2.643.100.3": "snils",  # СНИЛС, insurance number of the person
    "1.2.643.3.131.1.1": "inn",  # ИНН of the person
    "1.2.643.100.4": "inn_le",  # ИНН ЮЛ, of the legal entity
    "1.2.643.100.1": "ogrn",  # ОГРН
    "1.2.643.100.5": "ogrnip",  # ОГРНИП
}
_PEM = re.compile(rb"-----BEGIN [A-Z0-9 ]+-----(.+?)-----END [A-Z0-9 ]+-----", re.S)


@dataclass(frozen=True)
class CertificateFacts:
    """Who the certificate names, and which certificate it is."""

    subject: str  # RFC 4514
    common_name: str | None
    issuer: str
    serial: str  # hex
    sha256: str  # fingerprint of the DER
    not_before: datetime
    not_after: datetime
    national_ids: dict[str, str]  # RUSSIAN_NAME_OIDS names -> values present

    def as_json(self) -> dict[str, Any]:
        """The evidence form (JSON-safe)."""
        return {
            "subject": self.subject,
            "common_name": self.common_name,
            "issuer": self.issuer,
            "serial": self.serial,
            "sha256": self.sha256,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            **self.national_ids,
        }


@dataclass(frozen=True)
class ExternalSignature:
    """An accepted external signature: what it is and what it proves."""

    form: str  # "pdf" or "detached"
    certificate: CertificateFacts
    field_name: str | None  # the PDF signature field (form "pdf")
    claimed_signing_time: datetime | None  # /M or the signing-time attribute
    timestamp_at: datetime | None  # a valid RFC 3161 signature-time-stamp, if any
    signed_sha256: str  # SHA-256 of the issued bytes the signature covers
    detached_cms: bytes | None = None  # form "detached": the ContentInfo, DER

    def as_json(self) -> dict[str, Any]:
        """The evidence form (JSON-safe)."""
        return {
            "form": self.form,
            "field": self.field_name,
            "certificate": self.certificate.as_json(),
            "claimed_signing_time": _iso(self.claimed_signing_time),
            "timestamp": _iso(self.timestamp_at),
            "signed_sha256": self.signed_sha256,
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def certificate_facts(der: bytes) -> CertificateFacts:
    """The subject, issuer, serial, validity and national ids of a DER certificate."""
    cert = x509.load_der_x509_certificate(der)
    ids: dict[str, str] = {}
    cn: str | None = None
    for attr in cert.subject:
        value = attr.value if isinstance(attr.value, str) else attr.value.decode(errors="replace")
        key = RUSSIAN_NAME_OIDS.get(attr.oid.dotted_string)
        if key is not None:
            ids[key] = value.strip()
        elif attr.oid == x509.NameOID.COMMON_NAME and cn is None:
            cn = value
    return CertificateFacts(
        subject=cert.subject.rfc4514_string(),
        common_name=cn,
        issuer=cert.issuer.rfc4514_string(),
        serial=format(cert.serial_number, "x"),
        sha256=hashlib.sha256(der).hexdigest(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        national_ids=ids,
    )


def _reject(reason: str, detail: str) -> ExternalSignatureRejected:
    return ExternalSignatureRejected(detail, reason=reason)


def _roots(trust_roots: Sequence[x509.Certificate]) -> list[asn1_x509.Certificate]:
    return [
        asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in trust_roots
    ]


def _check_period(facts: CertificateFacts, now: datetime) -> None:
    if now > facts.not_after:
        raise _reject(
            "certificate-expired",
            f"The signer's certificate expired on {facts.not_after:%Y-%m-%d}; sign again with "
            "a valid certificate.",
        )
    if now < facts.not_before:
        raise _reject(
            "certificate-not-yet-valid",
            f"The signer's certificate is valid only from {facts.not_before:%Y-%m-%d}.",
        )


def _check_status(status: Any, facts: CertificateFacts, now: datetime) -> None:
    """Integrity, signature value, validity period and trust, in that order."""
    if not status.intact:
        raise _reject(
            "digest-mismatch",
            "The signature does not cover these bytes: the signed data was changed "
            "(its digest does not match).",
        )
    if not status.valid:
        raise _reject(
            "invalid-signature", "The signature value does not verify against its certificate."
        )
    _check_period(facts, now)
    if not status.trusted:
        raise _reject(
            "untrusted-certificate",
            "The signer's certificate does not chain to a trusted root "
            "(MEDSIGN_EXTERNAL_TRUST_ROOTS); ask the operator to add its CA.",
        )


def _timestamp_at(status: Any) -> datetime | None:
    tv = getattr(status, "timestamp_validity", None)
    if tv is not None and tv.intact and tv.valid:
        return tv.timestamp  # type: ignore[no-any-return]
    return None


def _context(roots: list[asn1_x509.Certificate], now: datetime) -> Any:
    from pyhanko_certvalidator import ValidationContext

    # Revocation: the data embedded in the signature is used; nothing is fetched from
    # the network (docs/external-signatures.md, "Revocation").
    return ValidationContext(trust_roots=roots, allow_fetching=False, moment=now)


# --- (a) a signed PDF --------------------------------------------------------------------


def validate_signed_pdf(
    issued: bytes, uploaded: bytes, trust_roots: Sequence[x509.Certificate], *, now: datetime
) -> ExternalSignature:
    """Check that ``uploaded`` is ``issued`` plus one valid, trusted external signature
    and only allowed changes; raise :class:`ExternalSignatureRejected` naming why not."""
    if b"%PDF-" not in uploaded[:1024]:
        raise _reject("not-a-pdf", "The file is not a PDF. Upload the signed PDF or a .sig file.")
    if len(uploaded) <= len(issued) or uploaded[: len(issued)] != issued:
        raise _reject(
            "different-document",
            "The PDF does not start with the exact version medsign issued: it was signed "
            "over another document or version, or rewritten instead of incrementally updated. "
            "Download the envelope's current PDF and sign that, keeping its bytes.",
        )
    return run_sync(_validate_pdf(issued, uploaded, _roots(trust_roots), now))


async def _validate_pdf(
    issued: bytes, uploaded: bytes, roots: list[asn1_x509.Certificate], now: datetime
) -> ExternalSignature:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.fields import MDPPerm, enumerate_sig_fields
    from pyhanko.sign.validation import SignatureCoverageLevel, async_validate_pdf_signature
    from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

    try:
        base_revisions = PdfFileReader(io.BytesIO(issued), strict=False).xrefs.total_revisions
        reader = PdfFileReader(io.BytesIO(uploaded), strict=False)
        fields = list(enumerate_sig_fields(reader, filled_status=True))
        signatures = [EmbeddedPdfSignature(reader, f, name) for name, _v, f in fields]
    except MemoryError:
        raise
    except Exception as exc:  # pyHanko on a damaged file
        log.info("external PDF unreadable: %s", type(exc).__name__)
        raise _reject("unreadable-pdf", "The PDF cannot be read; upload it as signed.") from exc
    new = [
        s
        for s in signatures
        if s.signed_revision >= base_revisions and s.sig_object_type != "/DocTimeStamp"
    ]
    if len(new) != 1:
        raise _reject(
            "no-new-signature" if not new else "several-new-signatures",
            "The PDF must add exactly one signature to the version medsign issued "
            f"(found {len(new)}).",
        )
    sig = new[0]
    # The pages the signature covers are the pages medsign issued: same content streams
    # and resources (annotations aside: a signature adds its widget there).
    if page_fingerprints(issued) != page_fingerprints(uploaded, refuse_active=True):
        raise _not_allowed()
    if sig.docmdp_level == MDPPerm.NO_CHANGES:
        # ISO 32000-1 §12.8.2.2: P=1 forbids any later change, medsign's block included.
        raise _reject(
            "certified-no-changes",
            "The signature certifies the document with no changes allowed (DocMDP P=1), "
            "so medsign could not add its signature block; sign without that restriction.",
        )
    context = _context(roots, now)
    try:
        status = await async_validate_pdf_signature(sig, signer_validation_context=context)
    except MemoryError:
        raise
    except Exception as exc:
        log.info("external signature unverifiable: %s", type(exc).__name__)
        raise _reject("invalid-signature", "The signature cannot be checked.") from exc
    facts = certificate_facts(status.signing_cert.dump())
    _check_status(status, facts, now)
    # After the signature: only signatures and form filling (ISO 32000-1 §12.8.2.2,
    # pyHanko's ModificationLevel.FORM_FILLING) and whatever its DocMDP permits.
    level = status.modification_level
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE and (
        status.coverage != SignatureCoverageLevel.ENTIRE_REVISION
        or level is None
        or level > ModificationLevel.FORM_FILLING
        or status.docmdp_ok is False
    ):
        raise _not_allowed()
    return ExternalSignature(
        form="pdf",
        certificate=facts,
        field_name=str(sig.field_name),
        claimed_signing_time=sig.self_reported_timestamp,
        timestamp_at=_timestamp_at(status),
        signed_sha256=hashlib.sha256(issued).hexdigest(),
    )


def _not_allowed() -> ExternalSignatureRejected:
    return _reject(
        "changes-not-allowed",
        "The PDF changes the document beyond adding signatures (pages, content or "
        "resources were added, removed or replaced before or after signing).",
    )


_MAX_NODES = 200_000


def page_fingerprints(pdf: bytes, *, refuse_active: bool = False) -> list[str]:
    """One digest per page over its content streams, resources, boxes and rotation,
    following indirect objects (each counted once); annotations are left out.

    ``refuse_active``: a file with JavaScript, launch actions or dynamic XFA anywhere
    (what intake refuses, :mod:`medsign.pdf.intake`) is rejected.
    """
    try:
        with pikepdf.open(io.BytesIO(pdf)) as doc:
            active = find_active_content(doc, pdf) if refuse_active else None
            if active:
                raise _reject(
                    "active-content",
                    f"The signed PDF contains {active}, which could change what is shown; "
                    "sign the issued PDF without adding scripts or actions.",
                )
            return [_digest_page(page.obj) for page in doc.pages]
    except pikepdf.PdfError as exc:
        raise _reject("unreadable-pdf", "The PDF cannot be read; upload it as signed.") from exc


def _digest_page(page: pikepdf.Dictionary) -> str:
    h = hashlib.sha256()
    seen: set[tuple[int, int]] = set()
    todo: list[Any] = [page.get(k) for k in ("/Contents", "/Resources", "/MediaBox", "/CropBox")]
    todo.append(page.get("/Rotate"))
    budget = _MAX_NODES
    while todo and budget > 0:
        budget -= 1
        obj = todo.pop()
        if obj is None:
            h.update(b"N")
            continue
        if isinstance(obj, pikepdf.Object) and obj.is_indirect:
            if obj.objgen in seen:
                h.update(b"R")
                continue
            seen.add(obj.objgen)
        if isinstance(obj, pikepdf.Stream):
            h.update(b"S" + obj.read_raw_bytes())
            todo.extend(obj.stream_dict[k] for k in sorted(obj.stream_dict.keys()))
        elif isinstance(obj, pikepdf.Dictionary):
            for key in sorted(obj.keys()):
                h.update(b"K" + key.encode())
                todo.append(obj[key])
        elif isinstance(obj, pikepdf.Array):
            h.update(b"A%d" % len(obj))
            todo.extend(obj)
        else:
            h.update(b"V" + repr(obj).encode())
    if todo:
        raise _reject("unreadable-pdf", "The PDF's pages are too complex to compare.")
    return h.hexdigest()


# --- (b) a detached CMS ------------------------------------------------------------------


def load_cms(data: bytes) -> asn1_cms.ContentInfo:
    """A CMS ContentInfo holding SignedData, from DER, PEM or base64 (what .sig/.p7s
    files hold)."""
    raw = data  # DER (a SEQUENCE, 0x30) is taken byte for byte: its last byte may be 0x20
    if raw[:1] != b"\x30":
        match = _PEM.search(raw)
        raw = match.group(1) if match is not None else raw
        try:
            raw = base64.b64decode(b"".join(raw.split()), validate=True)
        except ValueError:
            raise _reject(
                "not-cms", "The file is neither a PDF nor a CMS signature (.sig, .p7s)."
            ) from None
    try:
        info = asn1_cms.ContentInfo.load(raw, strict=True)
        if info["content_type"].native != "signed_data":
            raise ValueError("not SignedData")
        _ = info["content"]["signer_infos"][0]["signature"].native  # parse now, not later
    except (ValueError, TypeError, KeyError, IndexError):
        raise _reject(
            "not-cms", "The file is neither a PDF nor a CMS signature (.sig, .p7s)."
        ) from None
    return info


def _message_digest(signer_info: asn1_cms.SignerInfo) -> tuple[str, bytes | None]:
    algorithm = str(signer_info["digest_algorithm"]["algorithm"].native)
    attrs = signer_info["signed_attrs"]
    if not attrs:
        return algorithm, None
    for attr in attrs:
        if attr["type"].native == "message_digest":
            return algorithm, bytes(attr["values"][0].native)
    return algorithm, None


def validate_detached(
    issued: bytes, data: bytes, trust_roots: Sequence[x509.Certificate], *, now: datetime
) -> ExternalSignature:
    """Check a detached CMS over exactly ``issued`` (SHA-256 message digest)."""
    info = load_cms(data)
    signed: asn1_cms.SignedData = info["content"]
    if signed["encap_content_info"]["content"].native is not None:
        raise _reject(
            "not-detached",
            "The CMS signature carries its content inside; upload a detached signature over "
            "the envelope's current PDF.",
        )
    infos = signed["signer_infos"]
    if len(infos) != 1:
        raise _reject("several-signers", "The CMS must hold exactly one signer.")
    algorithm, digest = _message_digest(infos[0])
    wanted = hashlib.sha256(issued).digest()
    if algorithm != "sha256" or digest != wanted:
        raise _reject(
            "digest-mismatch",
            "The signature's message digest is not the SHA-256 of the envelope's current PDF: "
            "it was made over another file or version (or with another hash than SHA-256).",
        )
    checked = run_sync(_validate_detached(issued, signed, _roots(trust_roots), now))
    return replace(checked, detached_cms=bytes(info.dump()))


async def _validate_detached(
    issued: bytes, signed: asn1_cms.SignedData, roots: list[asn1_x509.Certificate], now: datetime
) -> ExternalSignature:
    from pyhanko.sign.validation.generic_cms import (
        async_validate_detached_cms,
        extract_self_reported_ts,
    )

    try:
        status = await async_validate_detached_cms(
            issued, signed, signer_validation_context=_context(roots, now)
        )
    except MemoryError:
        raise
    except Exception as exc:
        log.info("detached signature unverifiable: %s", type(exc).__name__)
        raise _reject("invalid-signature", "The signature cannot be checked.") from exc
    facts = certificate_facts(status.signing_cert.dump())
    _check_status(status, facts, now)
    return ExternalSignature(
        form="detached",
        certificate=facts,
        field_name=None,
        claimed_signing_time=extract_self_reported_ts(signed["signer_infos"][0]),
        timestamp_at=_timestamp_at(status),
        signed_sha256=hashlib.sha256(issued).hexdigest(),
    )


def utc(value: datetime) -> datetime:
    """``value`` with a UTC offset (naive values are taken as UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
