"""Interrupted signing: prepared here, signed by a device key elsewhere, completed here.

Both preparations (the fast path and pyHanko's ``async_digest_doc_for_signing``) give
files that pyHanko calls valid, time-stamped and trusted once the device's signature
(DER or r||s) is in; a wrong signature never verifies; a damaged hole is refused."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from medsign.errors import InvalidDocument, InvalidInput
from medsign.pdf import SealRequest, SignatureBlock, validate_pdf
from medsign.pdf.cms import external_template
from medsign.pdf.incremental import contents_room
from medsign.pdf.interrupted import (
    PreparedSignature,
    complete_signature,
    der_ecdsa_signature,
    prepare_signature,
    prepare_signature_reference,
    signature_verifies,
)
from medsign.pdf.timestamp import LocalTsa
from medsign.pki import (
    ClinicianCa,
    ClinicianIdentity,
    DevCA,
    PublishedAt,
    load_or_create_clinician_ca,
)
from tests.unit.pdf.conftest import make_pdf

NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
Prepare = Callable[..., PreparedSignature]


@pytest.fixture(scope="module")
def clinician_ca(tmp_path_factory: pytest.TempPathFactory) -> ClinicianCa:
    return load_or_create_clinician_ca(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def tsa(dev_ca: DevCA, tmp_path_factory: pytest.TempPathFactory) -> LocalTsa:
    return LocalTsa(dev_ca.issue_tsa(tmp_path_factory.mktemp("tsa")))


def _device(ca: ClinicianCa) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = ca.issue(
        key.public_key(),
        ClinicianIdentity("Dr. Test", "MC-1", "Clinic", "Branch"),
        now=dt.datetime.now(dt.UTC),
        days=30,
        published=PublishedAt("http://x/ca.crt", "http://x/ca.crl", "http://x/ocsp"),
    )
    return key, cert


def _request(field: str = "medsign-device") -> SealRequest:
    block = SignatureBlock(
        signer_name="Dr. Test",
        signed_at=NOW,
        method="Clinician's device key",
        document_id="doc-1",
        verification_code="ABCD-EFGH",
        verify_url="http://x/verify",
    )
    return SealRequest(block=block, evidence=b'{"method": "device"}', field_name=field)


def _reference(
    pdf: bytes,
    cert: x509.Certificate,
    chain: tuple[x509.Certificate, ...],
    request: SealRequest,
    tsa: LocalTsa,
) -> PreparedSignature:
    room = contents_room(external_template(cert, chain), tsa)
    return prepare_signature_reference(pdf, cert, chain, request, room)


@pytest.mark.parametrize("prepare", [prepare_signature, _reference], ids=["fast", "pyhanko"])
@pytest.mark.parametrize("raw", [True, False], ids=["r||s", "DER"])
def test_prepared_signed_completed_is_valid(
    prepare: Prepare, raw: bool, clinician_ca: ClinicianCa, dev_ca: DevCA, tsa: LocalTsa
) -> None:
    key, cert = _device(clinician_ca)
    chain = clinician_ca.issued_chain
    prepared = prepare(make_pdf(2), cert, chain, _request(), tsa)
    der = key.sign(prepared.signed_attributes, ec.ECDSA(hashes.SHA256()))
    if raw:  # what WebCrypto returns: r||s, 32 bytes each
        r, s = decode_dss_signature(der)
        der = der_ecdsa_signature(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
    assert signature_verifies(cert, prepared.signed_attributes, der)
    signed = complete_signature(prepared, cert, chain, der, tsa)
    roots = [clinician_ca.root, dev_ca.certificate]
    assert validate_pdf(signed, roots).valid  # medsign's fast verifier
    report = validate_pdf(signed, roots, fast=False)  # pyHanko, the oracle
    assert report.valid, report
    (sig,) = report.signatures
    assert sig.ok and sig.trusted and sig.timestamp_valid and sig.covers_whole_document
    assert sig.evidence == {"method": "device"}


def test_a_signature_of_anything_else_does_not_verify(
    clinician_ca: ClinicianCa, tsa: LocalTsa
) -> None:
    key, cert = _device(clinician_ca)
    other_key, _ = _device(clinician_ca)
    prepared = prepare_signature(make_pdf(), cert, clinician_ca.issued_chain, _request(), tsa)
    wrong_bytes = key.sign(prepared.signed_attributes + b"x", ec.ECDSA(hashes.SHA256()))
    wrong_key = other_key.sign(prepared.signed_attributes, ec.ECDSA(hashes.SHA256()))
    assert not signature_verifies(cert, prepared.signed_attributes, wrong_bytes)
    assert not signature_verifies(cert, prepared.signed_attributes, wrong_key)


def test_signature_encodings_are_checked() -> None:
    with pytest.raises(InvalidInput):
        der_ecdsa_signature(b"\x30\x02\x02\x00")
    with pytest.raises(InvalidInput):
        der_ecdsa_signature(bytes(64))  # r = s = 0
    der = ec.generate_private_key(ec.SECP256R1()).sign(b"m", ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidInput):
        der_ecdsa_signature(der + b"\x00")  # trailing bytes
    assert der_ecdsa_signature(der) == der


def test_a_damaged_hole_is_refused(
    clinician_ca: ClinicianCa, tsa: LocalTsa, tmp_path: Path
) -> None:
    key, cert = _device(clinician_ca)
    prepared = prepare_signature(make_pdf(), cert, clinician_ca.issued_chain, _request(), tsa)
    pdf = bytearray(prepared.pdf)
    pdf[prepared.contents_at + 5] = ord("1")
    damaged = PreparedSignature(
        bytes(pdf), prepared.contents_at, prepared.contents_end, prepared.signed_attributes
    )
    der = key.sign(prepared.signed_attributes, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidDocument):
        complete_signature(damaged, cert, clinician_ca.issued_chain, der, tsa)
    assert base64.b64encode(der)  # the signature itself was fine
