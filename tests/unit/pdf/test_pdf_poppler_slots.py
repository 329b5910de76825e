"""One certificate per signature slot: poppler 22.12 trusts every time-stamped signature.

poppler 22.12 with NSS (Debian 12's ``pdfsig``) does not trust the 2nd, 4th, ... of
several time-stamped signatures that carry the same certificate ("Unknown issue with
Certificate or corrupted data"); see :meth:`medsign.pki.DevCA.seal_for_slot`.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr
from pyhanko.pdf_utils.reader import PdfFileReader

from medsign.pdf import SealRequest, SignatureBlock, seal_pdf_reference, validate_pdf
from medsign.pdf.incremental import seal_incremental
from medsign.pdf.timestamp import LocalTsa
from medsign.pki import DevCA, SealKey
from medsign.runtime import SealKeys
from medsign.settings import Settings

PdfsigRunner = Callable[[bytes], str]
PdfFactory = Callable[..., bytes]
Sealer = Callable[..., bytes]
NAMES = ["Иванова Мария", "John Smith", "زهرا حسینی"]


@pytest.fixture(scope="module")
def tsa(dev_ca: DevCA, tmp_path_factory: pytest.TempPathFactory) -> LocalTsa:
    return LocalTsa(dev_ca.issue_tsa(tmp_path_factory.mktemp("tsa")))


@pytest.fixture(scope="module")
def org_dir(dev_ca: DevCA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("org-slots")


def slot_key(dev_ca: DevCA, org_dir: Path, slot: int) -> SealKey:
    return dev_ca.seal_for_slot(org_dir, "org-42", "Клиника «Здоровье»", slot)


def request(slot: int) -> SealRequest:
    return SealRequest(
        block=SignatureBlock(
            signer_name=NAMES[slot % 3],
            signed_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
            method="SMS code",
            document_id="doc-1",
            verification_code="7KQ4-M2XD",
            verify_url=None,
        ),
        evidence=json.dumps({"signer_name": NAMES[slot % 3], "method": "sms_otp"}).encode(),
        field_name=f"medsign-slot-{slot}",
        reason="Patient signature",
        location=None,
        slot=slot,
    )


@pytest.mark.parametrize("sealer", [seal_incremental, seal_pdf_reference])
def test_every_slot_is_trusted_by_pdfsig(
    sealer: Sealer,
    pdf_factory: PdfFactory,
    dev_ca: DevCA,
    org_dir: Path,
    tsa: LocalTsa,
    pdfsig: PdfsigRunner,
    qpdf_check: Callable[[bytes], None],
) -> None:
    data = pdf_factory(pages=2)
    for slot in range(3):
        data = sealer(data, slot_key(dev_ca, org_dir, slot), request(slot), tsa)
    out = pdfsig(data)
    assert out.count("- Signature Validation: Signature is Valid.") == 3, out
    verdicts = [ln.strip() for ln in out.splitlines() if "Certificate Validation:" in ln]
    assert verdicts == ["- Certificate Validation: Certificate is Trusted."] * 3, out
    qpdf_check(data)

    sigs = PdfFileReader(io.BytesIO(data)).embedded_signatures
    serials = {s.signer_cert.serial_number for s in sigs}
    assert len(serials) == 3  # one certificate per signature...
    assert len({s.signer_cert.public_key.dump() for s in sigs}) == 1  # ...for one key
    for sig in sigs:  # PAdES B-T: each one carries its signature-time-stamp
        unsigned = sig.signed_data["signer_infos"][0]["unsigned_attrs"]
        assert [a["type"].native for a in unsigned] == ["signature_time_stamp_token"]

    report = validate_pdf(data, [dev_ca.certificate])
    assert report.ok, report.reasons
    assert report.valid
    assert len(report.signatures) == 3
    for s in report.signatures:
        assert s.intact and s.valid and s.trusted
        assert s.timestamp_valid is True
    assert [s.signer for s in report.signatures] == NAMES


def test_seal_keys_for_signature(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        secret_key=SecretStr("test-secret-key-0123456789abcdef-0123456789"),
        _env_file=None,
    )
    keys = SealKeys(settings)
    first = keys.for_signature("org-1", "Clinic", 0)
    assert first is keys.for_organization("org-1", "Clinic")
    second = keys.for_signature("org-1", "Clinic", 1)
    # The same object each time: the CMS template cache (per SealKey) stays warm.
    assert keys.for_signature("org-1", "Clinic", 1) is second
    assert hash(second) == hash(keys.for_signature("org-1", "Clinic", 1))
    assert second.certificate.serial_number != first.certificate.serial_number
    assert second.certificate.subject == first.certificate.subject
    assert second.certificate.public_key() == first.private_key.public_key()
    org = keys.keys_dir / "orgs" / "org-1"
    assert (org / "seal-slot-1.cert.pem").exists()
    # Another process (a fresh SealKeys) uses the same certificate for the slot.
    other = SealKeys(settings).for_signature("org-1", "Clinic", 1)
    assert other.certificate == second.certificate


def test_configured_seal_keeps_one_certificate(tmp_path: Path, dev_ca: DevCA) -> None:
    seal = dev_ca.issue_seal(tmp_path / "prod", "prod", "Production")
    settings = Settings(
        data_dir=tmp_path / "data",
        secret_key=SecretStr("test-secret-key-0123456789abcdef-0123456789"),
        seal_key_file=tmp_path / "prod" / "seal.key.pem",
        seal_cert_file=tmp_path / "prod" / "seal.cert.pem",
        _env_file=None,
    )
    keys = SealKeys(settings)
    for slot in range(3):
        key = keys.for_signature("org-1", "Clinic", slot)
        assert key is keys.for_organization("org-1", "Clinic")
        assert key.certificate == seal.certificate
    assert not list((tmp_path / "prod").glob("seal-slot-*"))
