"""A fast verifier for PDFs medsign sealed itself, beside pyHanko (the reference).

:func:`medsign.pdf.validate.validate_pdf` goes through pyHanko: generic, thorough, and
10-40 ms per one-page file. Files medsign issued have a known shape (the fast sealing
path, :mod:`medsign.pdf.incremental`): PAdES signature dictionaries (/SubFilter
/ETSI.CAdES.detached, ISO 32000-1 §12.8.1) each with /ByteRange ``[0 a b c]``, a CMS
SignedData with one SignerInfo, signed attributes and an RFC 3161 signature-time-stamp.
For those, :func:`fast_validate` checks directly:

1. the /Contents hole is exactly the gap in /ByteRange and the signed range ends at
   the end of a revision (``%%EOF``, §7.5.5);
2. integrity: SHA-256 over the two ranges (hashed once, no copies) equals the
   message-digest signed attribute (RFC 5652 §11.2);
3. the CMS signature over the DER of the signed attributes (RFC 5652 §5.4) with the
   certificate the SignerInfo names, and the signing-certificate-v2 hash (RFC 5035);
4. the time-stamp token (RFC 3161 §2.4.2): its imprint is the hash of the signature
   value (Appendix A), its own message digest and signature verify;
5. trust of the signer's and the TSA's certificate: pyHanko's own path validation
   (``validate_cert_usage`` with the same key-usage constraints it applies to PDF
   signers and TSAs), run once per certificate and trust-root set and cached.

It returns ``None`` — "ask pyHanko" — for anything else: another structure, a
document time-stamp, an unreadable CMS, a file qpdf had to repair, and (unless the
caller knows the file is an issued envelope version, ``issued=True``) any file where
a later revision follows a signature, because judging what changed needs pyHanko's
difference analysis. For an issued version medsign wrote every revision itself (each
one a seal), so earlier signatures have only allowed changes after them.

Verdicts agree with :func:`validate_pdf` field by field; tests/unit/pdf/
test_pdf_fastverify.py runs both over the tamper matrix.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pikepdf
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from medsign.pdf.validate import (
    CHANGES_ALLOWED,
    CHANGES_NONE,
    SignatureReport,
    ValidationReport,
)

_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[")
_EOF_AT_END = re.compile(rb"%%EOF(\r\n|\r|\n)?$")
_CHAIN_TTL = 600.0  # seconds a cached path validation is reused
_EVIDENCE_RE = re.compile(r"^evidence-(.+)\.json$")


class _NotApplicable(Exception):
    """The file is outside what the fast verifier handles: use pyHanko."""


@dataclass(frozen=True)
class _Sig:
    name: str
    byte_range: tuple[int, int, int, int]
    contents: bytes
    signed_at: datetime | None
    evidence: dict[str, Any] | None


# -- certificate chains, validated by pyHanko once and cached ----------------------------

_chain_cache: dict[tuple[bytes, bytes, bool], tuple[float, bool]] = {}
_chain_lock = threading.Lock()


def _chain_ok(cert_der: bytes, roots: tuple[bytes, ...], tsa: bool) -> bool:
    """Does pyHanko consider the certificate trusted (path + key usage) against ``roots``?"""
    key = (cert_der, hashlib.sha256(b"".join(roots)).digest(), tsa)
    now = time.monotonic()
    with _chain_lock:
        hit = _chain_cache.get(key)
    if hit is not None and now - hit[0] < _CHAIN_TTL:
        return hit[1]
    ok = _run(_validate_chain(asn1_x509.Certificate.load(cert_der), roots, tsa))
    with _chain_lock:
        if len(_chain_cache) > 4096:
            _chain_cache.clear()
        _chain_cache[key] = (now, ok)
    return ok


def chains_to(cert_der: bytes, trust_roots: Sequence[x509.Certificate]) -> bool:
    """Does the certificate (DER) chain to one of ``trust_roots`` (cached like every
    path this module checks)? Used to name which kind of root a trusted signature has."""
    return _chain_ok(cert_der, _roots_der(trust_roots), tsa=False)


def _run(coro: Any) -> bool:
    from medsign.pdf.reference import run_sync

    result: bool = run_sync(coro)
    return result


async def _validate_chain(cert: asn1_x509.Certificate, roots: tuple[bytes, ...], tsa: bool) -> bool:
    from pyhanko.sign.validation.generic_cms import validate_cert_usage
    from pyhanko.sign.validation.status import PdfSignatureStatus, TimestampSignatureStatus
    from pyhanko_certvalidator import ValidationContext

    context = ValidationContext(
        trust_roots=[asn1_x509.Certificate.load(r) for r in roots], allow_fetching=False
    )
    status_cls = TimestampSignatureStatus if tsa else PdfSignatureStatus
    try:
        result = await validate_cert_usage(
            cert,
            context,
            key_usage_settings=status_cls.default_usage_constraints(),
            paths=context.path_builder.async_build_paths_lazy(cert),
        )
    except Exception:  # any failure to build or validate a path: not trusted
        return False
    return result.success_result is not None


def clear_cache() -> None:
    """Forget cached chain results (tests; a trust-root change)."""
    with _chain_lock:
        _chain_cache.clear()


# -- CMS, read with a minimal DER walker (X.690 §8.1) ---------------------------------
# asn1crypto re-encodes SET OF values on access, which costs milliseconds per file;
# the few fields needed here are read from the DER directly, as raw slices.

_OID_SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")
_OID_DATA = bytes.fromhex("06092a864886f70d010701")
_OID_TST_INFO = bytes.fromhex("060b2a864886f70d0109100104")
_OID_CONTENT_TYPE = bytes.fromhex("06092a864886f70d010903")
_OID_MESSAGE_DIGEST = bytes.fromhex("06092a864886f70d010904")
_OID_SIGNING_CERT_V2 = bytes.fromhex("060b2a864886f70d010910022f")
_OID_TIMESTAMP_TOKEN = bytes.fromhex("060b2a864886f70d010910020e")
_OID_SHA256 = bytes.fromhex("0609608648016503040201")
_OID_ECDSA_SHA256 = bytes.fromhex("06082a8648ce3d040302")
_OID_RSA_SHA256 = bytes.fromhex("06092a864886f70d01010b")


def _tlv(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at ``pos``."""
    if pos + 2 > end:
        raise _NotApplicable("truncated DER")
    tag = buf[pos]
    first = buf[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or pos + n > end:
            raise _NotApplicable("unsupported DER length")
        length = int.from_bytes(buf[pos : pos + n], "big")
        pos += n
    if pos + length > end:
        raise _NotApplicable("DER element overruns its parent")
    return tag, pos, pos + length


def _children(buf: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(tag, element start, content start, content end) of each child element."""
    out = []
    pos = start
    while pos < end:
        tag, cs, ce = _tlv(buf, pos, end)
        out.append((tag, pos, cs, ce))
        pos = ce
    return out


@functools.lru_cache(maxsize=256)
def _load_cert(der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


def _verify_raw(cert: x509.Certificate, data: bytes, signature: bytes, alg: bytes) -> bool:
    """Verify a signature value with a certificate's public key (RFC 5652 §5.6)."""
    public = cert.public_key()
    try:
        if alg == _OID_ECDSA_SHA256 and isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif alg == _OID_RSA_SHA256 and isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise _NotApplicable("signature algorithm")
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class _SignerCheck:
    digest_ok: bool
    signature_ok: bool
    cert_der: bytes
    signature: bytes
    token: bytes | None  # the signature-time-stamp token (ContentInfo DER), if any


def _attributes(buf: bytes, start: int, end: int) -> dict[bytes, tuple[int, int]]:
    """Attribute OID (DER) -> content span of its first value (RFC 5652 §5.3)."""
    out: dict[bytes, tuple[int, int]] = {}
    for tag, _es, cs, ce in _children(buf, start, end):
        if tag != 0x30:
            raise _NotApplicable("attribute is not a SEQUENCE")
        parts = _children(buf, cs, ce)
        if len(parts) != 2 or parts[0][0] != 0x06 or parts[1][0] != 0x31:
            raise _NotApplicable("odd attribute")
        values = _children(buf, parts[1][2], parts[1][3])
        if len(values) != 1:
            raise _NotApplicable("attribute with several values")
        oid = buf[parts[0][1] : parts[0][3]]
        out[oid] = (values[0][1], values[0][3])  # the whole value element
    return out


def _signed_data(buf: bytes, start: int, end: int) -> tuple[bytes, list[bytes], bytes]:
    """From a ContentInfo: (encapsulated content type OID, certificate DERs, SignerInfo)."""
    tag, cs, ce = _tlv(buf, start, end)
    if tag != 0x30 or buf[ce:end].strip(b"\x00"):  # /Contents is zero-padded (§12.8.1)
        raise _NotApplicable("not a ContentInfo")
    ci = _children(buf, cs, ce)
    if len(ci) != 2 or buf[ci[0][1] : ci[0][3]] != _OID_SIGNED_DATA or ci[1][0] != 0xA0:
        raise _NotApplicable("not SignedData")
    [sd] = _children(buf, ci[1][2], ci[1][3])
    parts = _children(buf, sd[2], sd[3])
    if len(parts) < 4 or parts[1][0] != 0x31 or parts[2][0] != 0x30:
        raise _NotApplicable("odd SignedData")
    encap = _children(buf, parts[2][2], parts[2][3])
    econtent_type = buf[encap[0][1] : encap[0][3]]
    certs: list[bytes] = []
    infos = None
    for tag, _es, cs, ce in parts[3:]:
        if tag == 0xA0:
            certs = [buf[c[1] : c[3]] for c in _children(buf, cs, ce) if c[0] == 0x30]
        elif tag == 0x31:
            infos = _children(buf, cs, ce)
        elif tag != 0xA1:  # crls [1] are ignored
            raise _NotApplicable("odd SignedData field")
    if infos is None or len(infos) != 1:
        raise _NotApplicable("not exactly one SignerInfo")
    econtent = b""
    if len(encap) == 2:
        [octets] = _children(buf, encap[1][2], encap[1][3])
        econtent = buf[octets[2] : octets[3]]
    return econtent_type + econtent, certs, buf[infos[0][1] : infos[0][3]]


def _check_signer_info(
    info: bytes, certs: list[bytes], expected_digest: bytes, content_type: bytes
) -> _SignerCheck:
    """Check one SignerInfo (RFC 5652 §5.3): attributes, certificate, signature."""
    [top] = _children(info, 0, len(info))
    parts = _children(info, top[2], top[3])
    if len(parts) < 6 or parts[1][0] != 0x30 or parts[3][0] != 0xA0:
        raise _NotApplicable("odd SignerInfo")
    sid = _children(info, parts[1][2], parts[1][3])
    issuer = info[sid[0][1] : sid[0][3]]
    serial = int.from_bytes(info[sid[1][2] : sid[1][3]], "big", signed=True)
    digest_alg = _children(info, parts[2][2], parts[2][3])
    if info[digest_alg[0][1] : digest_alg[0][3]] != _OID_SHA256:
        raise _NotApplicable("digest algorithm")
    attrs = _attributes(info, parts[3][2], parts[3][3])
    ctype = attrs.get(_OID_CONTENT_TYPE)
    digest = attrs.get(_OID_MESSAGE_DIGEST)
    if ctype is None or digest is None or info[ctype[0] : ctype[1]] != content_type:
        raise _NotApplicable("content type or message digest attribute")
    _t, ds, de = _tlv(info, digest[0], digest[1])
    cert_der = b""
    for der in certs:
        cert = _load_cert(der)
        if cert.serial_number == serial and cert.issuer.public_bytes() == issuer:
            cert_der = der
            break
    if not cert_der:
        raise _NotApplicable("the signer's certificate is not in the CMS")
    ess = attrs.get(_OID_SIGNING_CERT_V2)
    if ess is not None:  # RFC 5035 §3: the first ESSCertIDv2 names the signer's certificate
        [certs_seq] = _children(info, *_tlv(info, ess[0], ess[1])[1:])[:1]
        first = _children(info, certs_seq[2], certs_seq[3])[0]
        fields = _children(info, first[2], first[3])
        if fields[0][0] == 0x30:  # hashAlgorithm present (DEFAULT sha256 otherwise)
            hash_alg = _children(info, fields[0][2], fields[0][3])
            if info[hash_alg[0][1] : hash_alg[0][3]] != _OID_SHA256:
                raise _NotApplicable("signing-certificate-v2 hash")
            fields = fields[1:]
        if info[fields[0][2] : fields[0][3]] != hashlib.sha256(cert_der).digest():
            raise _NotApplicable("signing-certificate-v2 names another certificate")
    # RFC 5652 §5.4: the signature is over the DER of the SET OF attributes (tag 0x31).
    attrs_der = b"\x31" + info[parts[3][1] + 1 : parts[3][3]]
    alg_parts = _children(info, parts[4][2], parts[4][3])
    alg = info[alg_parts[0][1] : alg_parts[0][3]]
    if parts[5][0] != 0x04:
        raise _NotApplicable("signature value")
    signature = info[parts[5][2] : parts[5][3]]
    token = None
    for tag, _es, cs, ce in parts[6:]:
        if tag == 0xA1:
            unsigned = _attributes(info, cs, ce)
            span = unsigned.get(_OID_TIMESTAMP_TOKEN)
            token = info[span[0] : span[1]] if span is not None else None
    sig_ok = _verify_raw(_load_cert(cert_der), attrs_der, signature, alg)
    return _SignerCheck(info[ds:de] == expected_digest, sig_ok, cert_der, signature, token)


def _timestamp(token: bytes, signature: bytes, roots: tuple[bytes, ...]) -> tuple[bool, datetime]:
    """RFC 3161 signature-time-stamp over ``signature``: (valid and trusted, genTime)."""
    content, certs, info = _signed_data(token, 0, len(token))
    if content[: len(_OID_TST_INFO)] != _OID_TST_INFO:
        raise _NotApplicable("time-stamp token without TSTInfo")
    tst = content[len(_OID_TST_INFO) :]
    [top] = _children(tst, 0, len(tst))
    fields = _children(tst, top[2], top[3])
    imprint = _children(tst, fields[2][2], fields[2][3])
    alg = _children(tst, imprint[0][2], imprint[0][3])
    if tst[alg[0][1] : alg[0][3]] != _OID_SHA256 or fields[4][0] != 0x18:
        raise _NotApplicable("time-stamp imprint algorithm or time")
    imprint_ok = tst[imprint[1][2] : imprint[1][3]] == hashlib.sha256(signature).digest()
    gen = tst[fields[4][2] : fields[4][3]].decode("ascii")
    when = datetime.strptime(gen[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    check = _check_signer_info(info, certs, hashlib.sha256(tst).digest(), _OID_TST_INFO)
    ok = (
        imprint_ok
        and check.digest_ok
        and check.signature_ok
        and _chain_ok(check.cert_der, roots, tsa=True)
    )
    return ok, when


# -- the PDF ---------------------------------------------------------------------------


def _pdf_date(value: str) -> datetime | None:
    """Parse ``D:YYYYMMDDHHmmSS+HH'mm'`` (ISO 32000-1 §7.9.4), as pyHanko does."""
    m = re.match(r"^D:(\d{14})(Z|[+-]\d{2}'\d{2}'?)?", value)
    if m is None:
        return None
    base = datetime.strptime(m.group(1), "%Y%m%d%H%M%S")
    zone = m.group(2)
    if zone is None or zone == "Z":
        return base.replace(tzinfo=UTC)
    sign = 1 if zone[0] == "+" else -1
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    from datetime import timezone

    return base.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))


def _evidence_of(widget: pikepdf.Dictionary) -> dict[str, Any] | None:
    import json

    ap = widget.get("/AP")
    normal = ap.get("/N") if isinstance(ap, pikepdf.Dictionary) else None
    if not isinstance(normal, pikepdf.Stream):
        return None
    for spec in normal.get("/AF", pikepdf.Array()):
        if not isinstance(spec, pikepdf.Dictionary):
            continue
        if not _EVIDENCE_RE.match(str(spec.get("/UF", spec.get("/F", "")))):
            continue
        ef = spec.get("/EF")
        stream = ef.get("/UF", ef.get("/F")) if isinstance(ef, pikepdf.Dictionary) else None
        if isinstance(stream, pikepdf.Stream):
            try:
                data = json.loads(stream.read_bytes())
            except (ValueError, pikepdf.PdfError):
                return None
            return data if isinstance(data, dict) else None
    return None


def _signatures(data: bytes, max_fields: int) -> list[_Sig]:
    try:
        with pikepdf.open(io.BytesIO(data)) as doc:
            if doc.is_encrypted or doc.get_warnings():
                raise _NotApplicable("encrypted or repaired")
            form = doc.Root.get("/AcroForm")
            fields = form.get("/Fields") if isinstance(form, pikepdf.Dictionary) else None
            if not isinstance(fields, pikepdf.Array):
                raise _NotApplicable("no form")
            if len(fields) > max_fields:
                raise _NotApplicable("more fields than the cap: pyHanko's path refuses it")
            out = []
            for field in fields:
                if not isinstance(field, pikepdf.Dictionary) or "/Kids" in field:
                    raise _NotApplicable("field hierarchy")
                if field.get("/FT") != pikepdf.Name.Sig:
                    continue
                value = field.get("/V")
                if value is None:
                    continue  # an empty signature field
                if not isinstance(value, pikepdf.Dictionary):
                    raise _NotApplicable("odd /V")
                if value.get("/Type") != pikepdf.Name.Sig or value.get("/SubFilter") != (
                    pikepdf.Name("/ETSI.CAdES.detached")
                ):
                    raise _NotApplicable("not a PAdES signature (e.g. a document time-stamp)")
                byte_range = value.get("/ByteRange")
                if not isinstance(byte_range, pikepdf.Array) or len(byte_range) != 4:
                    raise _NotApplicable("odd /ByteRange")
                br = tuple(int(x) for x in byte_range)
                moment = value.get("/M")
                out.append(
                    _Sig(
                        name=str(field.get("/T", "")),
                        byte_range=(br[0], br[1], br[2], br[3]),
                        contents=bytes(value.get("/Contents", b"")),
                        signed_at=_pdf_date(str(moment)) if moment is not None else None,
                        evidence=_evidence_of(field),
                    )
                )
            return out
    except (pikepdf.PdfError, pikepdf.PasswordError, ValueError, TypeError) as exc:
        raise _NotApplicable(str(exc)) from exc


def _common_name(name: x509.Name) -> str | None:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = attrs[0].value if attrs else None
    return value if isinstance(value, str) else None


def _one(data: bytes, sig: _Sig, roots: tuple[bytes, ...], whole: bool) -> SignatureReport:
    start, a, b, c = sig.byte_range
    if start != 0 or not (0 < a < b <= len(data)) or c < 0 or b + c > len(data):
        raise _NotApplicable("byte range out of the file")
    hole = data[a:b]
    if hole[:1] != b"<" or hole[-1:] != b">":
        raise _NotApplicable("/Contents is not the gap of /ByteRange")
    try:
        if bytes.fromhex(hole[1:-1].decode("ascii")) != sig.contents:
            raise _NotApplicable("/Contents differs from the gap")
    except ValueError as exc:
        raise _NotApplicable("/Contents is not hex") from exc
    if not _EOF_AT_END.search(data, max(0, b + c - 16), b + c):
        raise _NotApplicable("the signed range does not end a revision")
    view = memoryview(data)
    h = hashlib.sha256(view[:a])
    h.update(view[b : b + c])
    try:
        content, certs, info = _signed_data(sig.contents, 0, len(sig.contents))
        if content != _OID_DATA:
            raise _NotApplicable("not detached id-data")
        check = _check_signer_info(info, certs, h.digest(), _OID_DATA)
        ts_valid: bool | None = None
        ts_at: datetime | None = None
        if check.token is not None:
            ts_valid, ts_at = _timestamp(check.token, check.signature, roots)
    except _NotApplicable:
        raise
    except (ValueError, TypeError, KeyError, IndexError, UnicodeDecodeError) as exc:
        raise _NotApplicable(f"unreadable CMS: {exc}") from exc
    intact, sig_ok = check.digest_ok, check.signature_ok
    cert = _load_cert(check.cert_der)
    valid = intact and sig_ok
    trusted = valid and _chain_ok(check.cert_der, roots, tsa=False)
    reasons: list[str] = []
    if not intact:
        reasons.append("The signed bytes were changed after signing (digest mismatch).")
    elif not sig_ok:
        reasons.append("The signature value does not verify against its certificate.")
    elif not trusted:
        reasons.append(
            "The certificate does not chain to a trusted root "
            "(the medsign CA or a configured trust root)."
        )
    if ts_valid is False:
        reasons.append("The signature time-stamp (RFC 3161) is not valid or not trusted.")
    ev = sig.evidence
    signer = _evidence_str(ev, "signer_name", "name", "signer") or _common_name(cert.subject)
    return SignatureReport(
        field_name=sig.name,
        signer=signer,
        signed_at=sig.signed_at,
        method=_evidence_str(ev, "method"),
        intact=intact,
        valid=valid,
        trusted=trusted,
        evidence=ev,
        timestamp_at=ts_at,
        timestamp_valid=ts_valid,
        covers_whole_document=whole,
        changes_after=CHANGES_NONE if whole else CHANGES_ALLOWED,
        issuer=_common_name(cert.issuer),
        reasons=tuple(reasons),
        signing_certificate=check.cert_der,
    )


def _evidence_str(ev: dict[str, Any] | None, *keys: str) -> str | None:
    from medsign.pdf.validate import _evidence_str as reference

    return reference(ev, *keys)


def _roots_der(trust_roots: Sequence[x509.Certificate]) -> tuple[bytes, ...]:
    return tuple(c.public_bytes(serialization.Encoding.DER) for c in trust_roots)


def fast_validate(
    data: bytes,
    trust_roots: Sequence[x509.Certificate],
    *,
    issued: bool = False,
    max_fields: int = 50,
) -> ValidationReport | None:
    """The verdict on a medsign-shaped PDF, or ``None`` when pyHanko must decide.

    ``issued``: the caller found this exact file (SHA-256) among the envelope versions
    medsign produced, so every revision after a signature is a medsign seal.
    A form with more than ``max_fields`` fields is left to the reference path, which
    refuses it with the limit named.
    """
    if not data.startswith(b"%PDF-"):
        return None
    try:
        sigs = _signatures(data, max_fields)
        if not sigs:
            return None
        sigs.sort(key=lambda s: s.byte_range[2] + s.byte_range[3])
        ends = [s.byte_range[2] + s.byte_range[3] for s in sigs]
        if ends[-1] != len(data) or len(set(ends)) != len(ends):
            return None  # bytes after the last signature: pyHanko's difference analysis
        if len(sigs) > 1 and not issued:
            return None
        roots = _roots_der(trust_roots)
        reports = tuple(
            _one(data, s, roots, whole=(i == len(sigs) - 1)) for i, s in enumerate(sigs)
        )
    except _NotApplicable:
        return None
    removed = max(0, len(_BYTE_RANGE.findall(data)) - len(sigs))
    return ValidationReport(reports, removed)


__all__ = ["clear_cache", "fast_validate"]
