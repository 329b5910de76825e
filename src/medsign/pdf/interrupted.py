"""Interrupted signing: prepare a PAdES signature here, let a device sign, complete it.

A clinician's key never leaves their device (DESIGN.md "Clinician devices"), so the
signature is made in two halves:

1. :func:`prepare_signature` appends the incremental update (ISO 32000-1 §7.5.6) with
   the visible block and an empty ``/Contents``, hashes the /ByteRange and returns the
   DER of the CMS signed attributes (RFC 5652 §5.4: content-type, message-digest,
   signing-certificate-v2 naming the device's certificate; no signing-time, ETSI EN
   319 142-1 §5.2.1). That DER is exactly what the device signs (ECDSA P-256 with
   SHA-256 over it, RFC 5652 §5.5).
2. :func:`complete_signature` wraps the device's signature into SignedData, adds the
   signature-time-stamp (RFC 3161 Appendix A; PAdES B-T) and writes it into the hole.

The same DER pieces the seal's fast path uses (:mod:`medsign.pdf.cms`); files the fast
path does not handle are prepared by pyHanko's interrupted signing
(``PdfSigner.async_digest_doc_for_signing``), and pyHanko validates every result in
the tests. No database and no web here.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from medsign.errors import InvalidDocument, InvalidInput
from medsign.pdf.cms import ECDSA_SHA256, external_template, tlv
from medsign.pdf.incremental import (
    Hole,
    Unsupported,
    contents_room,
    fill_hole,
    prepare_incremental,
)
from medsign.pdf.parts import SealRequest
from medsign.pdf.reference import prepare_with_pyhanko, run_sync
from medsign.pdf.timestamp import Timestamper, signature_timestamp_attribute

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedSignature:
    """A prepared revision: the file with an empty ``/Contents`` hole (bytes
    ``contents_at`` .. ``contents_end`` of ``pdf``, ``<00...>``) and the DER of the
    signed attributes the device must sign."""

    pdf: bytes
    contents_at: int
    contents_end: int
    signed_attributes: bytes


def prepare_signature(
    pdf: bytes,
    certificate: x509.Certificate,
    chain: tuple[x509.Certificate, ...],
    request: SealRequest,
    timestamper: Timestamper | None,
) -> PreparedSignature:
    """Append the update for ``certificate``'s signature and return what to sign.

    Raises :class:`InvalidDocument` for a PDF the fast path does not handle (medsign
    normalizes every document at intake, so that is a bug or a foreign file).
    """
    template = external_template(certificate, chain)
    room = contents_room(template, timestamper)
    try:
        hole = prepare_incremental(pdf, request, room)
    except Unsupported as exc:
        log.info("fast preparation not applicable (%s); using pyHanko", exc)
        return prepare_signature_reference(pdf, certificate, chain, request, room)
    base = len(hole.pdf)
    return PreparedSignature(
        pdf=hole.pdf + hole.update,
        contents_at=base + hole.contents_at,
        contents_end=base + hole.contents_end,
        signed_attributes=template.signed_attributes(hole.digest),
    )


def prepare_signature_reference(
    pdf: bytes,
    certificate: x509.Certificate,
    chain: tuple[x509.Certificate, ...],
    request: SealRequest,
    contents_len: int,
) -> PreparedSignature:
    """The same preparation by pyHanko (the fallback for files the fast path does not
    handle, and the oracle the tests compare it with)."""
    try:
        data, start, end, digest = run_sync(
            prepare_with_pyhanko(pdf, certificate, chain, request, contents_len)
        )
    except Exception as exc:
        from pyhanko.pdf_utils.misc import PdfError

        if isinstance(exc, PdfError | ValueError):
            raise InvalidDocument(f"The document cannot be prepared for signing: {exc}") from exc
        raise
    return PreparedSignature(
        pdf=data,
        contents_at=start,
        contents_end=end,
        signed_attributes=external_template(certificate, chain).signed_attributes(digest),
    )


def der_ecdsa_signature(signature: bytes) -> bytes:
    """An ECDSA P-256 signature as DER ``ECDSA-Sig-Value`` (RFC 3279 §2.2.3).

    Accepts DER or the 64-byte ``r || s`` that WebCrypto returns (W3C Web Cryptography
    API §23.4, IEEE P1363 format); anything else is :class:`InvalidInput`.
    """
    if len(signature) == 64:
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        if r == 0 or s == 0:
            raise InvalidInput("The signature is not a valid ECDSA signature.", field="signature")
        return encode_dss_signature(r, s)
    try:
        r, s = decode_dss_signature(signature)
    except ValueError:
        raise InvalidInput(
            "The signature must be a DER ECDSA-Sig-Value or the 64-byte r||s of P-256.",
            field="signature",
        ) from None
    if encode_dss_signature(r, s) != signature:  # trailing bytes or a non-DER encoding
        raise InvalidInput("The signature is not strict DER.", field="signature")
    return signature


def signature_verifies(certificate: x509.Certificate, signed: bytes, signature: bytes) -> bool:
    """True when DER ``signature`` is ``certificate``'s ECDSA-SHA256 signature of ``signed``."""
    public_key = certificate.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        return False
    try:
        public_key.verify(signature, signed, ECDSA_SHA256)
    except InvalidSignature:
        return False
    return True


def complete_signature(
    prepared: PreparedSignature,
    certificate: x509.Certificate,
    chain: tuple[x509.Certificate, ...],
    signature: bytes,
    timestamper: Timestamper | None,
) -> bytes:
    """The signed file: the device's DER ``signature`` over ``prepared.signed_attributes``
    in a CMS SignedData, with a signature-time-stamp when ``timestamper`` is given.

    The caller has checked the signature (:func:`signature_verifies`); this only builds.
    """
    pdf = prepared.pdf
    hole = pdf[prepared.contents_at : prepared.contents_end]
    if not (hole.startswith(b"<") and hole.endswith(b">") and hole.count(b"0") == len(hole) - 2):
        raise InvalidDocument("The prepared revision is damaged: its signature hole is not empty.")
    template = external_template(certificate, chain)
    unsigned = b""
    if timestamper is not None:
        token = timestamper.timestamp(hashlib.sha256(signature).digest())
        # unsignedAttrs [1] IMPLICIT SET OF Attribute { id-aa-timeStampToken }
        unsigned = tlv(0xA1, signature_timestamp_attribute(token))
    cms = template.assemble(prepared.signed_attributes, signature, unsigned)
    split = Hole(
        pdf=pdf[: prepared.contents_at],
        update=bytearray(pdf[prepared.contents_at :]),
        contents_at=0,
        contents_end=prepared.contents_end - prepared.contents_at,
        digest=b"",
    )
    try:
        return fill_hole(split, cms)
    except Unsupported as exc:
        raise InvalidDocument(f"The signature does not fit the prepared revision: {exc}") from exc
