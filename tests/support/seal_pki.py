"""A small test PKI for seal uploads: a root CA and seal certificates with the key
usages, validity and formats (PKCS#12, PEM) a test needs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

PASSWORD = "seal-pass-123"


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Clinic LLC"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _usage(*, non_repudiation: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=non_repudiation,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(frozen=True)
class TestSeal:
    """A seal key and certificate issued by :class:`SealPki`'s root."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    root: x509.Certificate

    def pkcs12(self, password: str = PASSWORD) -> bytes:
        """The key, certificate and root as PKCS#12 (AES under ``password``)."""
        return pkcs12.serialize_key_and_certificates(
            b"seal",
            self.key,
            self.certificate,
            [self.root],
            serialization.BestAvailableEncryption(password.encode()),
        )

    def key_pem(self) -> bytes:
        """The private key, unencrypted PKCS#8 PEM."""
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def chain_pem(self) -> bytes:
        """The certificate followed by the root, PEM."""
        return b"".join(
            c.public_bytes(serialization.Encoding.PEM) for c in (self.certificate, self.root)
        )


class SealPki:
    """A root CA issuing seal certificates around ``now``."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = (
            x509.CertificateBuilder()
            .subject_name(_name("Test Seal Root"))
            .issuer_name(_name("Test Seal Root"))
            .public_key(self.root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=400))
            .not_valid_after(now + dt.timedelta(days=4000))
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
            .sign(self.root_key, hashes.SHA256())
        )

    def seal(
        self,
        *,
        non_repudiation: bool = True,
        days_before: int = 30,
        days_after: int = 365,
        cn: str = "Test Clinic seal",
    ) -> TestSeal:
        """A seal valid from ``now - days_before`` to ``now + days_after`` (negative: in
        the past)."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(self.root.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.now - dt.timedelta(days=days_before))
            .not_valid_after(self.now + dt.timedelta(days=days_after))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(non_repudiation=non_repudiation), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.root_key.public_key()),
                critical=False,
            )
            .sign(self.root_key, hashes.SHA256())
        )
        return TestSeal(key, cert, self.root)
