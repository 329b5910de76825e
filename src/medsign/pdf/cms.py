"""CMS SignedData for PAdES, built from DER pieces prepared once per key.

Structure (RFC 5652 §5; ETSI EN 319 142-1 §6.3, PAdES baseline B-B):

* detached SignedData, version 1, one SignerInfo identified by issuer and serial;
* digest SHA-256;
* signed attributes: content-type (RFC 5652 §11.1), message-digest (§11.2) and
  signing-certificate-v2 (RFC 5035 §3) — and no signing-time, which PAdES forbids
  (EN 319 142-1 §5.2.1: the time is the /M entry of the signature dictionary);
* certificates: the signer's certificate and its chain.

Only the message digest and the signature value change per document, so everything
else is cached per :class:`~medsign.pki.SealKey`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from medsign.pki import SealKey

# Object identifiers, DER-encoded (tag 06 + length + value).
_OID_SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")  # 1.2.840.113549.1.7.2
_OID_DATA = bytes.fromhex("06092a864886f70d010701")  # 1.2.840.113549.1.7.1
_OID_CONTENT_TYPE = bytes.fromhex("06092a864886f70d010903")  # 1.2.840.113549.1.9.3
_OID_MESSAGE_DIGEST = bytes.fromhex("06092a864886f70d010904")  # 1.2.840.113549.1.9.4
_OID_SIGNING_CERT_V2 = bytes.fromhex("060b2a864886f70d010910022f")  # 1.2.840.113549.1.9.16.2.47
_OID_SHA256 = bytes.fromhex("0609608648016503040201")  # 2.16.840.1.101.3.4.2.1
_OID_ECDSA_SHA256 = bytes.fromhex("06082a8648ce3d040302")  # 1.2.840.10045.4.3.2
_OID_RSA_SHA256 = bytes.fromhex("06092a864886f70d01010b")  # 1.2.840.113549.1.1.11
_NULL = b"\x05\x00"
# id-aa-timeStampToken 1.2.840.113549.1.9.16.2.14 (RFC 3161 Appendix A)
_OID_TIMESTAMP_TOKEN = bytes.fromhex("060b2a864886f70d010910020e")

ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())  # stateless: one instance serves every signature

# Overhead of the unsigned attribute around a time-stamp token: [1] + SEQUENCE + OID +
# SET headers (at most 4 bytes each for tokens under 16 MB) plus the OID itself.
TIMESTAMP_ATTR_OVERHEAD = 3 * 4 + 4 + len(_OID_TIMESTAMP_TOKEN)


class TokenSource(Protocol):
    """Anything that gives RFC 3161 tokens over SHA-256 digests (see medsign.pdf.timestamp)."""

    def timestamp(self, digest: bytes) -> bytes:
        """A DER TimeStampToken whose message imprint is ``digest``."""
        ...


def _len(n: int) -> bytes:
    """DER definite length (X.690 §8.1.3)."""
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, *parts: bytes) -> bytes:
    """A DER tag-length-value with the concatenation of ``parts`` as value."""
    body = b"".join(parts)
    return bytes([tag]) + _len(len(body)) + body


def _seq(*parts: bytes) -> bytes:
    return tlv(0x30, *parts)


def _set_of(items: list[bytes]) -> bytes:
    """DER SET OF: elements sorted by their encodings (X.690 §11.6)."""
    return tlv(0x31, *sorted(items))


def _integer(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True)
    return tlv(0x02, body)


def _octets(value: bytes) -> bytes:
    return tlv(0x04, value)


@dataclass(frozen=True)
class CmsTemplate:
    """Per-key DER pieces; :meth:`sign` fills in the digest and the signature.

    ``key`` is None for a certificate whose private key medsign does not hold (a
    clinician's device): then only :meth:`signed_attributes` and :meth:`assemble` apply.
    """

    key: SealKey | None
    attrs_prefix: bytes  # signed attributes SET up to the message digest value
    attrs_suffix: bytes  # ... and after it
    head: bytes  # SignedData pieces before the SignerInfo's signedAttrs
    signer_head: bytes  # SignerInfo: version, sid, digestAlgorithm
    sig_alg: bytes
    max_size: int

    def signed_attributes(self, digest: bytes) -> bytes:
        """DER of the signed attributes as signed (SET OF, tag 0x31; RFC 5652 §5.4)."""
        return self.attrs_prefix + digest + self.attrs_suffix

    def sign(self, digest: bytes, timestamper: TokenSource | None = None) -> bytes:
        """Sign the document digest: a complete DER ContentInfo.

        With a ``timestamper`` the SignerInfo gets a signature-time-stamp over the
        signature value (RFC 3161 Appendix A; PAdES B-T, ETSI EN 319 142-1 §6.3).
        """
        if self.key is None:
            raise ValueError("this template has no private key: sign elsewhere, then assemble")
        attrs = self.signed_attributes(digest)
        private_key = self.key.private_key
        if isinstance(private_key, ec.EllipticCurvePrivateKey):
            signature = private_key.sign(attrs, ECDSA_SHA256)
        else:
            signature = private_key.sign(attrs, padding.PKCS1v15(), hashes.SHA256())
        unsigned = b""
        if timestamper is not None:
            token = timestamper.timestamp(hashlib.sha256(signature).digest())
            # unsignedAttrs [1] IMPLICIT SET OF Attribute { id-aa-timeStampToken }
            unsigned = tlv(0xA1, _seq(_OID_TIMESTAMP_TOKEN, tlv(0x31, token)))
        return self.assemble(attrs, signature, unsigned)

    def assemble(self, attrs: bytes, signature: bytes, unsigned: bytes = b"") -> bytes:
        """Wrap signed attributes, a signature value and unsigned attributes into ContentInfo."""
        signed_attrs = b"\xa0" + attrs[1:]  # [0] IMPLICIT SET OF Attribute
        signer_info = _seq(
            self.signer_head, signed_attrs, self.sig_alg, _octets(signature), unsigned
        )
        signed_data = _seq(self.head, tlv(0x31, signer_info))
        return _seq(_OID_SIGNED_DATA, tlv(0xA0, signed_data))


def _alg(oid: bytes, null: bool) -> bytes:
    return _seq(oid, _NULL) if null else _seq(oid)


_TEMPLATES: dict[int, tuple[SealKey, CmsTemplate]] = {}
_TEMPLATES_KEPT = 64


def cms_template(key: SealKey) -> CmsTemplate:
    """Every DER piece that does not depend on the document, prepared once per key.

    Cached by the key object's identity: hashing a :class:`SealKey` hashes its
    certificates, which costs more than the lookup saves. The cache holds the key
    itself, so an id is never reused while its entry exists.
    """
    entry = _TEMPLATES.get(id(key))
    if entry is not None and entry[0] is key:
        return entry[1]
    template = _build_template(key.certificate, key.chain, key)
    if len(_TEMPLATES) >= _TEMPLATES_KEPT:
        _TEMPLATES.pop(next(iter(_TEMPLATES)), None)  # the oldest (another thread may race)
    _TEMPLATES[id(key)] = (key, template)
    return template


_EXTERNAL: dict[bytes, CmsTemplate] = {}


def external_template(
    certificate: x509.Certificate, chain: tuple[x509.Certificate, ...]
) -> CmsTemplate:
    """The DER pieces for a signer whose private key is elsewhere (interrupted signing):
    the signed attributes to hand out and the SignedData to assemble around the
    signature that comes back. Cached by the certificate's fingerprint."""
    fingerprint = certificate.fingerprint(hashes.SHA256())
    template = _EXTERNAL.get(fingerprint)
    if template is None:
        template = _build_template(certificate, chain, None)
        if len(_EXTERNAL) >= _TEMPLATES_KEPT:
            _EXTERNAL.pop(next(iter(_EXTERNAL)), None)
        _EXTERNAL[fingerprint] = template
    return template


def _build_template(
    cert: x509.Certificate, chain: tuple[x509.Certificate, ...], key: SealKey | None
) -> CmsTemplate:
    cert_der = cert.public_bytes(serialization.Encoding.DER)
    issuer = cert.issuer.public_bytes()
    serial = _integer(cert.serial_number)
    sha256 = _alg(_OID_SHA256, null=False)
    # RFC 5035 §3: ESSCertIDv2 { hashAlgorithm DEFAULT sha256 (omitted), certHash,
    # issuerSerial { issuer GeneralNames (directoryName [4]), serialNumber } }.
    issuer_serial = _seq(_seq(tlv(0xA4, issuer)), serial)
    ess_cert_id = _seq(_octets(hashlib.sha256(cert_der).digest()), issuer_serial)
    signing_cert_v2 = _seq(_OID_SIGNING_CERT_V2, tlv(0x31, _seq(_seq(ess_cert_id))))
    content_type = _seq(_OID_CONTENT_TYPE, tlv(0x31, _OID_DATA))
    marker = b"\x00" * 32
    message_digest = _seq(_OID_MESSAGE_DIGEST, tlv(0x31, _octets(marker)))
    attrs = _set_of([content_type, message_digest, signing_cert_v2])
    at = attrs.index(_OID_MESSAGE_DIGEST) + len(_OID_MESSAGE_DIGEST) + 4
    assert attrs[at : at + 32] == marker
    public_key = cert.public_key()
    if isinstance(public_key, rsa.RSAPublicKey):
        sig_alg = _alg(_OID_RSA_SHA256, null=True)
        max_sig = (public_key.key_size + 7) // 8
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        sig_alg = _alg(_OID_ECDSA_SHA256, null=False)
        max_sig = 2 * ((public_key.curve.key_size + 7) // 8) + 9
    else:
        raise ValueError("only RSA and ECDSA certificates can sign PAdES signatures here")
    certs = [cert_der] + [c.public_bytes(serialization.Encoding.DER) for c in chain]
    head = b"".join(
        [
            _integer(1),  # CMSVersion 1: no attribute certs, id-data content (§5.1)
            tlv(0x31, sha256),  # digestAlgorithms
            _seq(_OID_DATA),  # encapContentInfo without eContent: detached
            tlv(0xA0, *sorted(certs)),  # certificates [0] IMPLICIT SET OF, DER order
        ]
    )
    signer_head = _integer(1) + _seq(issuer, serial) + sha256
    template = CmsTemplate(
        key=key,
        attrs_prefix=attrs[:at],
        attrs_suffix=attrs[at + 32 :],
        head=head,
        signer_head=signer_head,
        sig_alg=sig_alg,
        max_size=0,
    )
    size = len(template.assemble(attrs, b"\xff" * max_sig))
    return CmsTemplate(
        key=key,
        attrs_prefix=template.attrs_prefix,
        attrs_suffix=template.attrs_suffix,
        head=head,
        signer_head=signer_head,
        sig_alg=sig_alg,
        max_size=size + 16,
    )
