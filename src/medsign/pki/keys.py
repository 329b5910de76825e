"""Seal keys: the development CA, per-organization seals, and production key files.

A *seal* is the organization's signing key (ECDSA P-256 by default) with a
certificate whose key usage allows ``digitalSignature`` and ``nonRepudiation``
(RFC 5280 §4.2.1.3), as PAdES signatures expect (ETSI EN 319 142-1 §5.1).

Files are written atomically (temporary file + :func:`os.replace`) with mode
0600 for private keys, so two processes that start at the same time end up with
one consistent key pair: whichever rename lands last wins for both files, and a
reader that sees a mismatching pair simply waits and reads again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from medsign.errors import InvalidInput

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

CA_KEY_FILE = "ca.key.pem"
CA_CERT_FILE = "ca.cert.pem"
SEAL_KEY_FILE = "seal.key.pem"
SEAL_CERT_FILE = "seal.cert.pem"
SEAL_SLOT_CERT_FILE = "seal-slot-{slot}.cert.pem"  # slot >= 1; slot 0 is SEAL_CERT_FILE
TSA_KEY_FILE = "tsa.key.pem"
TSA_CERT_FILE = "tsa.cert.pem"

_CA_YEARS = 10
_SEAL_YEARS = 3
_TSA_YEARS = 5
_LOCK_WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class SealKey:
    """A private key, its certificate and the issuer chain (up to and including the root)."""

    private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]


def _write_atomic(path: Path, data: bytes, *, private: bool) -> None:
    """Write ``data`` to ``path`` atomically; private files get mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.chmod(0o600 if private else 0o644)
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def _creation_lock(directory: Path, name: str) -> Iterator[None]:
    """A cross-process lock file created with ``O_EXCL``; stale locks expire."""
    directory.mkdir(parents=True, exist_ok=True)
    lock = directory / f".{name}.lock"
    deadline = time.monotonic() + _LOCK_WAIT_SECONDS
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            if time.monotonic() > deadline:
                # A crashed holder left the lock behind: take it over.
                with contextlib.suppress(FileNotFoundError):
                    lock.unlink()
                deadline = time.monotonic() + _LOCK_WAIT_SECONDS
            time.sleep(0.02)
            continue
        os.close(fd)
        break
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()


def _pem_key(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_private_key(data: bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise InvalidInput("The private key must be an ECDSA or RSA key.")
    return key


def _same_public_key(key: PrivateKey, cert: x509.Certificate) -> bool:
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    return key.public_key().public_bytes(enc, fmt) == cert.public_key().public_bytes(enc, fmt)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _ski(key: PrivateKey) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(key.public_key())


class DevCA:
    """A development certificate authority stored as two PEM files in a directory."""

    def __init__(self, private_key: PrivateKey, certificate: x509.Certificate) -> None:
        self.private_key = private_key
        self.certificate = certificate

    def issue_seal(self, directory: Path, organization_id: str, organization_name: str) -> SealKey:
        """Load ``<directory>/seal.{key,cert}.pem`` or create an organization seal there.

        The seal is an ECDSA P-256 key with a 3-year certificate: subject
        O=<organization name>, CN=<organization name> seal, serialNumber=<organization id>;
        key usage digitalSignature + nonRepudiation (RFC 5280 §4.2.1.3).
        """
        key_path = directory / SEAL_KEY_FILE
        cert_path = directory / SEAL_CERT_FILE
        loaded = self._try_load_seal(key_path, cert_path)
        if loaded is not None:
            return loaded
        with _creation_lock(directory, "seal"):
            loaded = self._try_load_seal(key_path, cert_path)
            if loaded is not None:
                return loaded
            key = ec.generate_private_key(ec.SECP256R1())
            cert = self._seal_certificate(key, organization_id, organization_name)
            _write_atomic(key_path, _pem_key(key), private=True)
            _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), private=False)
            return SealKey(key, cert, (self.certificate,))

    def seal_for_slot(
        self, directory: Path, organization_id: str, organization_name: str, slot: int
    ) -> SealKey:
        """The organization seal with its own certificate for signature ``slot`` of a document.

        Slot 0 is :meth:`issue_seal` itself. Slot ``k >= 1`` pairs the same private key
        with another certificate from this CA — same subject, validity and extensions
        as ``seal.cert.pem``, a distinct serial number — created on first use and kept
        in ``<directory>/seal-slot-<k>.cert.pem`` (written atomically under a lock, so
        racing processes agree on one certificate per slot).

        A workaround for a use-after-free in poppler 22.12 (Debian 12's ``pdfsig`` and
        the poppler-based viewers, NSS backend: ``SignatureHandler`` in
        poppler/SignatureHandler.cc). When two signatures of one PDF carry the *same*
        certificate (same issuer and serial) and unsigned attributes — our RFC 3161
        signature-time-stamp — the second (fourth, ...) one is reported as "Signature
        is Valid" but "Certificate Validation: Unknown issue with Certificate or
        corrupted data": NSS keeps the temporary certificate decoded from the first
        signature's CMS by issuer and serial, its DER still pointing into that CMS
        message's memory after poppler destroyed the message, so decoding the next
        signature's copy fails with SEC_ERROR_REUSED_ISSUER_AND_SERIAL. With a
        different certificate per signature every signature is trusted. Nothing
        requires a seal to use one certificate for all its signatures (ETSI EN 319
        142-1, RFC 5652): each signature still names its own certificate, for the same
        key and subject. Configured production seal keys keep their one certificate.
        """
        seal = self.issue_seal(directory, organization_id, organization_name)
        if slot <= 0:
            return seal
        cert_path = directory / SEAL_SLOT_CERT_FILE.format(slot=slot)
        loaded = self._try_load_slot(seal, cert_path)
        if loaded is not None:
            return loaded
        with _creation_lock(directory, f"seal-slot-{slot}"):
            loaded = self._try_load_slot(seal, cert_path)
            if loaded is not None:
                return loaded
            cert = self._slot_certificate(seal)
            _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), private=False)
            return SealKey(seal.private_key, cert, seal.chain)

    def _try_load_slot(self, seal: SealKey, cert_path: Path) -> SealKey | None:
        """The slot certificate on disk, if it still belongs to ``seal`` and this CA."""
        if not cert_path.exists():
            return None
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if not _same_public_key(seal.private_key, cert) or cert.issuer != (
            self.certificate.subject
        ):
            return None  # the seal key or the CA was replaced: issue a new certificate
        return SealKey(seal.private_key, cert, seal.chain)

    def _slot_certificate(self, seal: SealKey) -> x509.Certificate:
        """A copy of the seal certificate with a fresh serial number, signed by this CA."""
        base = seal.certificate
        serial = x509.random_serial_number()
        while serial == base.serial_number:  # pragma: no cover - 2**-159 chance
            serial = x509.random_serial_number()
        builder = (
            x509.CertificateBuilder()
            .subject_name(base.subject)
            .issuer_name(self.certificate.subject)
            .public_key(seal.private_key.public_key())
            .serial_number(serial)
            .not_valid_before(base.not_valid_before_utc)
            .not_valid_after(base.not_valid_after_utc)
        )
        for ext in base.extensions:
            builder = builder.add_extension(ext.value, critical=ext.critical)
        return builder.sign(self.private_key, hashes.SHA256())

    def issue_tsa(self, directory: Path) -> SealKey:
        """Load ``<directory>/tsa.{key,cert}.pem`` or create the built-in TSA's key there.

        The time-stamping unit of the built-in TSA (RFC 3161): an ECDSA P-256 key whose
        certificate, issued by this CA, has the extended key usage ``id-kp-timeStamping``
        as its only purpose and marked critical (RFC 3161 §2.3), and key usage
        digitalSignature + nonRepudiation (ETSI EN 319 422 §6.5).
        """
        key_path = directory / TSA_KEY_FILE
        cert_path = directory / TSA_CERT_FILE
        loaded = self._try_load_seal(key_path, cert_path)
        if loaded is not None:
            return loaded
        with _creation_lock(directory, "tsa"):
            loaded = self._try_load_seal(key_path, cert_path)
            if loaded is not None:
                return loaded
            key = ec.generate_private_key(ec.SECP256R1())
            cert = self._tsa_certificate(key)
            _write_atomic(key_path, _pem_key(key), private=True)
            _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), private=False)
            return SealKey(key, cert, (self.certificate,))

    def _tsa_certificate(self, key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "medsign"),
                x509.NameAttribute(NameOID.COMMON_NAME, "medsign built-in timestamping authority"),
            ]
        )
        now = _now()
        not_after = min(
            now + dt.timedelta(days=365 * _TSA_YEARS), self.certificate.not_valid_after_utc
        )
        # RFC 3161 §2.3: the TSA certificate MUST contain only one instance of the
        # extended key usage field, with KeyPurposeID id-kp-timeStamping, critical.
        eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING])
        return self._end_entity(key, subject, now, not_after, eku, eku_critical=True)

    def _end_entity(
        self,
        key: ec.EllipticCurvePrivateKey,
        subject: x509.Name,
        now: dt.datetime,
        not_after: dt.datetime,
        eku: x509.ExtendedKeyUsage,
        *,
        eku_critical: bool,
    ) -> x509.Certificate:
        """A certificate for a signing key (seal or TSA): digitalSignature and
        nonRepudiation (RFC 5280 §4.2.1.3), the given extended key usage, SKI and AKI."""
        ca_key = self.private_key
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,  # nonRepudiation
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(eku, critical=eku_critical)
            .add_extension(_ski(key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )

    def crl(
        self, revoked: Sequence[int] = (), *, now: dt.datetime | None = None
    ) -> x509.CertificateRevocationList:
        """A fresh, complete CRL of this CA (RFC 5280 §5), signed now, valid for 7 days.

        The development CA revokes nothing unless told (``revoked`` serial numbers);
        the CRL still matters: it is the revocation evidence a PAdES B-LT/B-LTA file
        embeds (ETSI EN 319 142-1 §5.4) and that validators which require revocation
        information look for. No issuingDistributionPoint: the CRL covers every
        certificate of this CA. The CRL number (§5.2.3) increases with time.
        """
        when = (now or _now()).replace(microsecond=0)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(when - dt.timedelta(minutes=1))
            .next_update(when + dt.timedelta(days=7))
            .add_extension(x509.CRLNumber(int(when.timestamp())), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.private_key.public_key()),
                critical=False,
            )
        )
        for serial in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(when - dt.timedelta(minutes=1))
                .build()
            )
        return builder.sign(self.private_key, hashes.SHA256())

    def _try_load_seal(self, key_path: Path, cert_path: Path) -> SealKey | None:
        if not (key_path.exists() and cert_path.exists()):
            return None
        key = _load_private_key(key_path.read_bytes())
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if not _same_public_key(key, cert):
            return None
        return SealKey(key, cert, (self.certificate,))

    def _seal_certificate(
        self, key: ec.EllipticCurvePrivateKey, organization_id: str, organization_name: str
    ) -> x509.Certificate:
        name = organization_name.strip() or organization_id
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, name[:64]),
                x509.NameAttribute(NameOID.COMMON_NAME, f"{name[:58]} seal"),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, organization_id[:64]),
            ]
        )
        now = _now()
        eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION])
        not_after = now + dt.timedelta(days=365 * _SEAL_YEARS)
        return self._end_entity(key, subject, now, not_after, eku, eku_critical=False)


def _create_ca_certificate(
    key: ec.EllipticCurvePrivateKey, common_name: str = "medsign development CA"
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * _CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(_ski(key), critical=False)
        .sign(key, hashes.SHA256())
    )


def _try_load_ca(key_path: Path, cert_path: Path) -> DevCA | None:
    if not (key_path.exists() and cert_path.exists()):
        return None
    key = _load_private_key(key_path.read_bytes())
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    if not _same_public_key(key, cert):
        return None
    return DevCA(key, cert)


def load_or_create_dev_ca(directory: Path) -> DevCA:
    """Load the development CA from ``directory`` or create it there on first call.

    Creates ``ca.key.pem`` (mode 0600) and ``ca.cert.pem``: ECDSA P-256, 10 years,
    CN "medsign development CA". Safe when several processes race.
    """
    key_path = directory / CA_KEY_FILE
    cert_path = directory / CA_CERT_FILE
    ca = _try_load_ca(key_path, cert_path)
    if ca is not None:
        return ca
    with _creation_lock(directory, "ca"):
        ca = _try_load_ca(key_path, cert_path)
        if ca is not None:
            return ca
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _create_ca_certificate(key)
        _write_atomic(key_path, _pem_key(key), private=True)
        _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), private=False)
        return DevCA(key, cert)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"Cannot read the {what} file {path}: {exc.strerror}.") from exc


def _load_certs(path: Path, what: str) -> list[x509.Certificate]:
    data = _read(path, what)
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise InvalidInput(f"The {what} file {path} holds no readable certificate.") from exc


def load_trust_list(path: Path) -> list[x509.Certificate]:
    """Trust roots from a PEM/DER file or from every ``*.pem``/``*.crt``/``*.cer``/``*.der``
    file of a directory (``MEDSIGN_EXTERNAL_TRUST_ROOTS``); InvalidInput when unreadable."""
    if path.is_dir():
        found: list[x509.Certificate] = []
        for item in sorted(path.iterdir()):
            if item.suffix.lower() in (".pem", ".crt", ".cer", ".der") and item.is_file():
                found.extend(_load_certs(item, "trust root"))
        return found
    return _load_certs(path, "trust root")


def load_seal_key_files(
    key_path: Path, cert_path: Path, chain_paths: Sequence[Path] = ()
) -> SealKey:
    """Load a production seal from PEM files (unencrypted PKCS#8 / traditional key).

    ``cert_path`` may hold the seal certificate followed by its issuers; ``chain_paths``
    add more issuer certificates. Raises :class:`InvalidInput` when a file cannot be
    read or the key does not belong to the certificate.
    """
    key_data = _read(key_path, "seal key")
    try:
        key = _load_private_key(key_data)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(
            f"The seal key file {key_path} is not an unencrypted PEM private key."
        ) from exc
    certs = _load_certs(cert_path, "seal certificate")
    for chain_path in chain_paths:
        certs.extend(_load_certs(chain_path, "certificate chain"))
    cert, chain = certs[0], certs[1:]
    if not _same_public_key(key, cert):
        raise InvalidInput(f"The seal key {key_path} does not match the certificate {cert_path}.")
    seen: set[bytes] = set()
    unique: list[x509.Certificate] = []
    for c in chain:
        fp = c.fingerprint(hashes.SHA256())
        if fp not in seen and c != cert:
            seen.add(fp)
            unique.append(c)
    return SealKey(key, cert, tuple(unique))
