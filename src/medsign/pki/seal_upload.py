"""An organization's own seal certificate, uploaded by its admin (PKCS#12, or a PEM key
with its certificate and chain), checked and stored beside the development seals.

Checks before anything is stored (clear refusals, :class:`InvalidInput`):

* the private key is an ECDSA or RSA key and belongs to the certificate;
* the certificate's key usage allows ``digitalSignature`` and ``nonRepudiation``
  (RFC 5280 §4.2.1.3; PAdES signatures expect both, ETSI EN 319 142-1 §5.1);
* the certificate is valid now (not before ``notBefore``, not after ``notAfter``).

Stored as one PEM file (the key, then the certificate, then its issuers) written
atomically with mode 0600 (:func:`medsign.pki.keys._write_atomic`), so a reader sees
the old seal or the new one, never a key of one and a certificate of the other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from medsign.errors import InvalidInput
from medsign.pki.keys import (
    PrivateKey,
    SealKey,
    _load_private_key,
    _pem_key,
    _same_public_key,
    _write_atomic,
)

UPLOADED_SEAL_FILE = "uploaded-seal.pem"
MAX_UPLOAD_BYTES = 100_000  # a key and a chain of a few certificates


@dataclass(frozen=True)
class SealInfo:
    """What the settings page shows of a seal certificate (no key material)."""

    subject: str
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    sha256: str
    chain_length: int


def seal_info(seal: SealKey) -> SealInfo:
    """The certificate's names, validity and SHA-256 fingerprint."""
    cert = seal.certificate
    return SealInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        sha256=cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        chain_length=len(seal.chain),
    )


def _from_pkcs12(data: bytes, password: str) -> tuple[PrivateKey, list[x509.Certificate]]:
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(
            data, password.encode() if password else None
        )
    except ValueError:
        raise InvalidInput(
            "The PKCS#12 file cannot be opened: check the password, or that the file is a "
            ".p12/.pfx holding a private key and its certificate.",
            field="pkcs12",
        ) from None
    if key is None or cert is None:
        raise InvalidInput(
            "The PKCS#12 file holds no private key with its certificate.", field="pkcs12"
        )
    if not isinstance(key, PrivateKey):
        raise InvalidInput("The private key must be an ECDSA or RSA key.", field="pkcs12")
    return key, [cert, *extra]


def _from_pem(key_pem: bytes, certs_pem: bytes) -> tuple[PrivateKey, list[x509.Certificate]]:
    try:
        key = _load_private_key(key_pem)
    except (ValueError, TypeError):
        raise InvalidInput(
            "The key is not an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----).",
            field="key",
        ) from None
    try:
        certs = x509.load_pem_x509_certificates(certs_pem)
    except ValueError:
        raise InvalidInput(
            "The certificate file holds no PEM certificate (-----BEGIN CERTIFICATE-----).",
            field="certificate",
        ) from None
    return key, certs


def _check(key: PrivateKey, certs: list[x509.Certificate], now: dt.datetime) -> SealKey:
    cert = next((c for c in certs if _same_public_key(key, c)), None)
    if cert is None:
        raise InvalidInput(
            "The private key does not belong to the certificate (their public keys differ).",
            field="certificate",
        )
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is None or not (usage.digital_signature and usage.content_commitment):
        raise InvalidInput(
            "The certificate's key usage must allow digitalSignature and nonRepudiation "
            "(RFC 5280 §4.2.1.3); ask the CA for a signing (seal) certificate.",
            field="certificate",
        )
    if now < cert.not_valid_before_utc:
        raise InvalidInput(
            f"The certificate is valid only from {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC.",
            field="certificate",
        )
    if now > cert.not_valid_after_utc:
        raise InvalidInput(
            f"The certificate expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC.",
            field="certificate",
        )
    seen = {cert.fingerprint(hashes.SHA256())}
    chain: list[x509.Certificate] = []
    for c in certs:
        fp = c.fingerprint(hashes.SHA256())
        if fp not in seen:
            seen.add(fp)
            chain.append(c)
    return SealKey(key, cert, tuple(chain))


def parse_seal_upload(
    *,
    now: dt.datetime,
    pkcs12_data: bytes = b"",
    password: str = "",
    key_pem: bytes = b"",
    certs_pem: bytes = b"",
) -> SealKey:
    """A checked seal from a PKCS#12 file (with its password) or from a PEM key and a
    PEM file of the certificate followed by its issuers; InvalidInput otherwise."""
    sizes = (len(pkcs12_data), len(key_pem), len(certs_pem))
    if max(sizes) > MAX_UPLOAD_BYTES:
        raise InvalidInput(f"A seal file is at most {MAX_UPLOAD_BYTES // 1000} KB.")
    if pkcs12_data and (key_pem or certs_pem):
        raise InvalidInput("Upload either a PKCS#12 file or a PEM key and certificate, not both.")
    if pkcs12_data:
        key, certs = _from_pkcs12(pkcs12_data, password)
    elif key_pem and certs_pem:
        key, certs = _from_pem(key_pem, certs_pem)
    else:
        raise InvalidInput(
            "Choose a PKCS#12 file (.p12/.pfx), or both a PEM private key and its certificate.",
            field="pkcs12",
        )
    return _check(key, certs, now)


def store_uploaded_seal(directory: Path, seal: SealKey) -> None:
    """Write the seal (key, certificate, issuers) to ``directory`` in one atomic step."""
    pem = _pem_key(seal.private_key) + b"".join(
        c.public_bytes(serialization.Encoding.PEM) for c in (seal.certificate, *seal.chain)
    )
    _write_atomic(directory / UPLOADED_SEAL_FILE, pem, private=True)


def uploaded_seal_version(directory: Path) -> int | None:
    """A number that changes whenever the uploaded seal is replaced (None: there is none)."""
    try:
        return (directory / UPLOADED_SEAL_FILE).stat().st_mtime_ns
    except FileNotFoundError:
        return None


def load_uploaded_seal(directory: Path) -> SealKey | None:
    """The organization's uploaded seal, or None when it has none."""
    try:
        data = (directory / UPLOADED_SEAL_FILE).read_bytes()
    except FileNotFoundError:
        return None
    key = _load_private_key(data)
    certs = x509.load_pem_x509_certificates(data)
    return SealKey(key, certs[0], tuple(certs[1:]))
