"""The clinician CA: certificates for device keys, its CRL and its OCSP answers.

Clinicians' devices hold their own ECDSA P-256 keys (DESIGN.md "Clinician devices");
medsign only certifies them, after proof of possession (the CSR's self-signature,
RFC 2986 §3). The development CA stands *beside* the medsign development CA (a root
of its own in ``<keys>/clinician-ca``: the development CA's path length is 0, so it
cannot have a subordinate CA); production configures its own issuing key and chain
like the seal keys. Revocation: a complete CRL (RFC 5280 §5) and OCSP answers signed
by the CA itself (RFC 6960 §4.2.2.2, no delegated responder).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from medsign.pki.keys import (
    PrivateKey,
    _create_ca_certificate,
    _creation_lock,
    _pem_key,
    _try_load_ca,
    _write_atomic,
    load_seal_key_files,
)

CLINICIAN_CA_DIR = "clinician-ca"
_CRL_DAYS = 7
_OCSP_HOURS = 24


@dataclass(frozen=True)
class Revocation:
    """A revoked certificate: when, and why (RFC 5280 §5.3.1 reason code)."""

    serial: int
    revoked_at: dt.datetime
    reason: x509.ReasonFlags = x509.ReasonFlags.unspecified


@dataclass(frozen=True)
class CertificateStatus:
    """What the CA knows of a serial number it is asked about."""

    known: bool
    revocation: Revocation | None = None


@dataclass(frozen=True)
class PublishedAt:
    """Where the CA's certificate, CRL and OCSP responder are published (RFC 5280
    §4.2.1.13 cRLDistributionPoints, §4.2.2.1 authorityInfoAccess)."""

    ca_certificate_url: str
    crl_url: str
    ocsp_url: str


@dataclass(frozen=True)
class ClinicianIdentity:
    """Whom a device certificate names: the clinician, their licence and workplace."""

    name: str
    licence_number: str
    organization: str
    branch: str | None = None


class ClinicianCa:
    """Issues device certificates and answers for their status."""

    def __init__(
        self,
        private_key: PrivateKey,
        certificate: x509.Certificate,
        chain: tuple[x509.Certificate, ...] = (),
    ) -> None:
        self.private_key = private_key
        self.certificate = certificate
        self.chain = chain  # issuers above ``certificate`` (empty for the development root)

    @property
    def root(self) -> x509.Certificate:
        """The trust anchor the device certificates chain to."""
        return self.chain[-1] if self.chain else self.certificate

    @property
    def issued_chain(self) -> tuple[x509.Certificate, ...]:
        """The chain a device certificate comes with: this CA and its issuers."""
        return (self.certificate, *self.chain)

    def issue(
        self,
        public_key: ec.EllipticCurvePublicKey,
        who: ClinicianIdentity,
        *,
        now: dt.datetime,
        days: int,
        published: PublishedAt,
    ) -> x509.Certificate:
        """A device certificate: subject CN=name, serialNumber=licence number,
        O=organization, OU=branch (the workplace); key usage digitalSignature +
        nonRepudiation (RFC 5280 §4.2.1.3, as PAdES expects: ETSI EN 319 142-1 §5.1),
        ``days`` of validity (never past the CA's own), CRL distribution point and OCSP
        in the AIA pointing at medsign."""
        attrs = [
            x509.NameAttribute(NameOID.COMMON_NAME, who.name[:64]),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, who.licence_number[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, who.organization[:64] or "-"),
        ]
        if who.branch:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, who.branch[:64]))
        start = now.replace(microsecond=0) - dt.timedelta(minutes=5)
        end = min(start + dt.timedelta(days=days), self.certificate.not_valid_after_utc)
        ku = x509.KeyUsage(
            digital_signature=True,
            content_commitment=True,  # nonRepudiation
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        )
        crl_dp = x509.CRLDistributionPoints(
            [
                x509.DistributionPoint(
                    full_name=[x509.UniformResourceIdentifier(published.crl_url)],
                    relative_name=None,
                    reasons=None,
                    crl_issuer=None,
                )
            ]
        )
        aia = x509.AuthorityInformationAccess(
            [
                x509.AccessDescription(
                    AuthorityInformationAccessOID.OCSP,
                    x509.UniformResourceIdentifier(published.ocsp_url),
                ),
                x509.AccessDescription(
                    AuthorityInformationAccessOID.CA_ISSUERS,
                    x509.UniformResourceIdentifier(published.ca_certificate_url),
                ),
            ]
        )
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attrs))
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(ku, critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.private_key.public_key()),
                critical=False,
            )
            .add_extension(crl_dp, critical=False)
            .add_extension(aia, critical=False)
            .sign(self.private_key, hashes.SHA256())
        )

    def crl(self, revoked: list[Revocation], *, now: dt.datetime) -> bytes:
        """A complete CRL (DER) listing ``revoked``, valid for seven days (RFC 5280 §5);
        the CRL number (§5.2.3) grows with time."""
        when = now.replace(microsecond=0)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(when - dt.timedelta(minutes=1))
            .next_update(when + dt.timedelta(days=_CRL_DAYS))
            .add_extension(x509.CRLNumber(int(when.timestamp())), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.private_key.public_key()),
                critical=False,
            )
        )
        for item in revoked:
            entry = (
                x509.RevokedCertificateBuilder()
                .serial_number(item.serial)
                .revocation_date(item.revoked_at.replace(microsecond=0))
            )
            if item.reason is not x509.ReasonFlags.unspecified:
                entry = entry.add_extension(x509.CRLReason(item.reason), critical=False)
            builder = builder.add_revoked_certificate(entry.build())
        return builder.sign(self.private_key, hashes.SHA256()).public_bytes(
            serialization.Encoding.DER
        )

    def ocsp_response(
        self, request_der: bytes, status_of: Callable[[int], CertificateStatus], *, now: dt.datetime
    ) -> bytes:
        """Answer a DER OCSPRequest (RFC 6960 §4.1) for one certificate of this CA.

        Malformed requests get ``malformedRequest``; a certificate of another issuer
        ``unauthorized`` (§2.3); a serial this CA never issued ``unknown`` (§2.2).
        (The cryptography library reads only single-certificate requests; others are
        answered ``malformedRequest``.)
        The CA key signs the response itself (§4.2.2.2), responder id by key hash.
        """
        try:
            req = ocsp.load_der_ocsp_request(request_der)
            hash_alg = req.hash_algorithm
            serial = req.serial_number
            issuer_key_hash = req.issuer_key_hash
            issuer_name_hash = req.issuer_name_hash
            extensions = list(req.extensions)
        except (ValueError, NotImplementedError, x509.UnsupportedGeneralNameType):
            return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        ours = _key_hash(self.certificate, hash_alg)
        if ours is None or issuer_key_hash != ours:
            return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        status = status_of(serial)
        when = now.replace(microsecond=0)
        revocation = status.revocation
        if not status.known:
            cert_status = ocsp.OCSPCertStatus.UNKNOWN
        elif revocation is not None:
            cert_status = ocsp.OCSPCertStatus.REVOKED
        else:
            cert_status = ocsp.OCSPCertStatus.GOOD
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=issuer_name_hash,
            issuer_key_hash=issuer_key_hash,
            serial_number=serial,
            algorithm=hash_alg,
            cert_status=cert_status,
            this_update=when - dt.timedelta(minutes=1),
            next_update=when + dt.timedelta(hours=_OCSP_HOURS),
            revocation_time=(
                revocation.revoked_at.replace(microsecond=0)
                if revocation and status.known
                else None
            ),
            revocation_reason=(
                revocation.reason
                if revocation
                and status.known
                and revocation.reason is not x509.ReasonFlags.unspecified
                else None
            ),
        )
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, self.certificate)
        for ext in extensions:
            if isinstance(ext.value, x509.OCSPNonce):  # echo the nonce (RFC 8954)
                builder = builder.add_extension(ext.value, critical=False)
        response = builder.sign(self.private_key, hashes.SHA256())
        return response.public_bytes(serialization.Encoding.DER)

    def ocsp_for(
        self, cert: x509.Certificate, status: CertificateStatus, *, now: dt.datetime
    ) -> bytes:
        """This CA's OCSP answer (DER OCSPResponse) for one of its certificates, as the
        responder would give it: validation data for a PAdES DSS (ETSI EN 319 142-1
        §5.4.2, ISO 32000-2 §12.8.4.3)."""
        request = (
            ocsp.OCSPRequestBuilder()
            .add_certificate(cert, self.certificate, hashes.SHA256())
            .build()
            .public_bytes(serialization.Encoding.DER)
        )
        return self.ocsp_response(request, lambda _serial: status, now=now)


def _key_hash(cert: x509.Certificate, algorithm: hashes.HashAlgorithm) -> bytes | None:
    """The hash of the issuer's public key as in CertID (RFC 6960 §4.1.1)."""
    try:
        probe = (
            ocsp.OCSPRequestBuilder()
            .add_certificate(cert, cert, algorithm)  # only the issuer part is used
            .build()
        )
    except (ValueError, TypeError):
        return None
    return probe.issuer_key_hash


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(
        serialization.Encoding.DER
    )


def load_or_create_clinician_ca(keys_dir: Path) -> ClinicianCa:
    """The development clinician CA in ``<keys_dir>/clinician-ca`` (created on first use,
    ECDSA P-256, 10 years, CN "medsign clinician CA"); safe when processes race."""
    directory = keys_dir / CLINICIAN_CA_DIR
    key_path = directory / "ca.key.pem"
    cert_path = directory / "ca.cert.pem"
    loaded = _try_load_ca(key_path, cert_path)
    if loaded is None:
        with _creation_lock(directory, "ca"):
            loaded = _try_load_ca(key_path, cert_path)
            if loaded is None:
                key = ec.generate_private_key(ec.SECP256R1())
                cert = _create_ca_certificate(key, "medsign clinician CA")
                _write_atomic(key_path, _pem_key(key), private=True)
                _write_atomic(
                    cert_path, cert.public_bytes(serialization.Encoding.PEM), private=False
                )
                return ClinicianCa(key, cert)
    return ClinicianCa(loaded.private_key, loaded.certificate)


def load_clinician_ca_files(
    key_path: Path, cert_path: Path, chain_paths: list[Path]
) -> ClinicianCa:
    """A configured clinician CA: its key, its certificate and the chain above it (PEM)."""
    loaded = load_seal_key_files(key_path, cert_path, chain_paths)
    return ClinicianCa(loaded.private_key, loaded.certificate, loaded.chain)
