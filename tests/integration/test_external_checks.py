"""The pieces of external-signature validation that need no database (but files: the
Certomancer keys): what a .sig file may look like, the certificate's names, what counts
as the same pages, and the trust list."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from medsign.errors import ExternalSignatureRejected
from medsign.pdf.external import (
    certificate_facts,
    load_cms,
    page_fingerprints,
    validate_detached,
)
from medsign.pki import load_trust_list
from medsign.settings import Settings
from tests.support.external_pki import ExternalPki, sign_detached
from tests.support.pdfs import make_pdf

NOW = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ExternalPki:
    """A Certomancer PKI."""
    return ExternalPki(tmp_path_factory.mktemp("pki"))


def _reason(call: object) -> str:
    assert callable(call)
    with pytest.raises(ExternalSignatureRejected) as err:
        call()
    return err.value.reason


def test_a_sig_file_may_be_der_pem_or_base64(pki: ExternalPki) -> None:
    der = sign_detached(b"data", pki.signer())
    # DER whose last byte is a space or newline (signatures end in any byte) stays DER.
    for tail in (b" ", b"\n"):
        assert load_cms(der[:-1] + tail).dump()[:-1] == der[:-1]
    b64 = base64.b64encode(der)
    pem = b"-----BEGIN CMS-----\n" + base64.encodebytes(der) + b"-----END CMS-----\n"
    for form in (der, b64, pem, b"\n  " + b64 + b"\n"):
        assert load_cms(form).dump() == cms.ContentInfo.load(der).dump()
    for junk in (b"", b"not base64 !!", base64.b64encode(b"\x30\x03abc"), b"%PDF-1.7"):
        assert _reason(lambda junk=junk: load_cms(junk)) == "not-cms"


def test_an_attached_signature_is_not_a_detached_one(pki: ExternalPki) -> None:
    pdf = make_pdf()
    attached = sign_detached(pdf, pki.signer(), detached=False)
    assert _reason(lambda: validate_detached(pdf, attached, [pki.cert("root")], now=NOW)) == (
        "not-detached"
    )
    detached = sign_detached(pdf, pki.signer())
    checked = validate_detached(pdf, detached, [pki.cert("root")], now=NOW)
    assert checked.detached_cms == detached and checked.form == "detached"
    # Valid at signing, but no longer: the check is made at acceptance.
    later = dt.datetime(2101, 1, 1, tzinfo=dt.UTC)
    assert _reason(lambda: validate_detached(pdf, detached, [pki.cert("root")], now=later)) == (
        "certificate-expired"
    )


def test_certificate_facts_read_russian_identifiers() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Иванова Мария Петровна"),
            x509.NameAttribute(x509.ObjectIdentifier("1.2.643.100.3"), "12345678901"),
            x509.NameAttribute(x509.ObjectIdentifier("1.2.643.3.131.1.1"), "771234567890"),
            x509.NameAttribute(x509.ObjectIdentifier("1.2.643.100.4"), "7701234567"),
            x509.NameAttribute(x509.ObjectIdentifier("1.2.643.100.1"), "1027700132195"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0xABC)
        .not_valid_before(NOW)
        .not_valid_after(NOW + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    facts = certificate_facts(cert.public_bytes(serialization.Encoding.DER))
    assert facts.common_name == "Иванова Мария Петровна"
    assert facts.national_ids == {
        "snils": "12345678901",
        "inn": "771234567890",
        "inn_le": "7701234567",
        "ogrn": "1027700132195",
    }
    assert facts.serial == "abc" and facts.as_json()["snils"] == "12345678901"


def test_pages_differ_when_their_content_does() -> None:
    one = make_pdf(text="Consent A")
    assert page_fingerprints(one) == page_fingerprints(make_pdf(text="Consent A"))
    assert page_fingerprints(one) != page_fingerprints(make_pdf(text="Consent B"))
    assert len(page_fingerprints(make_pdf(pages=3))) == 3


def test_trust_list_from_a_file_or_a_directory(pki: ExternalPki, tmp_path: Path) -> None:
    root = pki.write_root(tmp_path / "a.pem")
    other = pki.write_root(tmp_path / "b.crt", "rogue")
    (tmp_path / "notes.txt").write_text("ignored")
    assert load_trust_list(root) == [pki.cert("root")]
    assert sorted(c.subject.rfc4514_string() for c in load_trust_list(tmp_path)) == sorted(
        [
            pki.cert("root").subject.rfc4514_string(),
            pki.cert("root", "rogue").subject.rfc4514_string(),
        ]
    )
    assert other.exists()
    with pytest.raises(ValueError, match="MEDSIGN_EXTERNAL_TRUST_ROOTS"):
        Settings(external_trust_roots=tmp_path / "missing.pem", _env_file=None)
