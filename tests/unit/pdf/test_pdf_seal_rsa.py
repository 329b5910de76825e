"""A deployment whose seal and TSA keys are RSA keeps signing on the fast path.

New development keys are ECDSA P-256 (:mod:`medsign.pki.keys`); configured production
keys may be RSA, loaded with :func:`medsign.pki.load_seal_key_files`. Both paths must
give signatures pdfsig and pyHanko accept, with the per-key CMS and TSA templates.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils.reader import PdfFileReader

from medsign.pdf import SealRequest, SignatureBlock, seal_pdf_reference, validate_pdf
from medsign.pdf.incremental import seal_incremental
from medsign.pdf.timestamp import LocalTsa
from medsign.pki import DevCA, SealKey, load_seal_key_files

PdfFactory = Callable[..., bytes]
Sealer = Callable[..., bytes]


def _rsa_key_files(ca: DevCA, directory: Path, name: str, eku: x509.ObjectIdentifier) -> SealKey:
    """An RSA-2048 key and a certificate from the development CA, as PEM files, loaded
    the way a deployment loads its configured keys."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
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
        .add_extension(x509.ExtendedKeyUsage([eku]), critical=True)
        .sign(ca.private_key, hashes.SHA256())
    )
    directory.mkdir(parents=True)
    key_path, cert_path = directory / "key.pem", directory / "cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + ca.certificate.public_bytes(serialization.Encoding.PEM)
    )
    return load_seal_key_files(key_path, cert_path)


@pytest.mark.parametrize("sealer", [seal_incremental, seal_pdf_reference])
def test_rsa_seal_with_rsa_tsa_is_valid_everywhere(
    sealer: Sealer,
    pdf_factory: PdfFactory,
    dev_ca: DevCA,
    pdfsig: Callable[[bytes], str],
    qpdf_check: Callable[[bytes], None],
    tmp_path: Path,
) -> None:
    seal = _rsa_key_files(
        dev_ca, tmp_path / "seal", "RSA seal", ExtendedKeyUsageOID.EMAIL_PROTECTION
    )
    tsa = LocalTsa(
        _rsa_key_files(dev_ca, tmp_path / "tsa", "RSA TSA", ExtendedKeyUsageOID.TIME_STAMPING)
    )
    block = SignatureBlock(
        signer_name="Иванова Мария Петровна",
        signed_at=dt.datetime.now(dt.timezone(dt.timedelta(hours=3))).replace(microsecond=0),
        method="SMS code",
        document_id="3f2a4b6c-1111-4222-8333-444455556666",
        verification_code="7KQ4-M2XD",
        verify_url="https://clinic.example.org/verify?document=3f2a&code=7KQ4-M2XD",
    )
    request = SealRequest(block=block, evidence=b"{}", field_name="medsign-sig-0")
    data = sealer(pdf_factory(), seal, request, tsa)
    out = pdfsig(data)
    assert "Signature Validation: Signature is Valid." in out, out
    assert "Certificate Validation: Certificate is Trusted." in out, out
    qpdf_check(data)
    signer_info = PdfFileReader(io.BytesIO(data)).embedded_signatures[0].signer_info
    assert signer_info["signature_algorithm"]["algorithm"].native in (
        "sha256_rsa",
        "rsassa_pkcs1v15",
    )
    assert len(signer_info["signature"].native) == 256  # RSA-2048, PKCS #1 v1.5
    report = validate_pdf(data, [dev_ca.certificate])
    assert report.ok, report.reasons
    assert report.signatures[0].timestamp_valid is True
