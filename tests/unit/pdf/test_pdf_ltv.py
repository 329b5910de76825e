"""PAdES B-LTA archive (medsign.pdf.ltv): pyHanko's LTA validation, pdfsig, the DSS."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESStatus
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager

from medsign.pdf import SealRequest, SignatureBlock, seal_pdf, validate_pdf
from medsign.pdf.ltv import ARCHIVE_FIELD, EVIDENCE_FILE, build_archive
from medsign.pdf.timestamp import LocalTsa
from medsign.pki import DevCA

PdfFactory = Callable[..., bytes]
PdfsigRunner = Callable[[bytes], str]
EVIDENCE = json.dumps({"type": "medsign.certificate-of-completion", "signers": []}).encode()


@pytest.fixture(scope="module")
def signed_and_archive(
    dev_ca: DevCA, pdf_factory: PdfFactory, tmp_path_factory: pytest.TempPathFactory
) -> tuple[bytes, bytes]:
    directory: Path = tmp_path_factory.mktemp("ltv")
    tsa = LocalTsa(dev_ca.issue_tsa(directory / "tsa"))
    pdf = pdf_factory(pages=2)
    for slot in range(2):
        key = dev_ca.seal_for_slot(directory / "org", "org-1", "Clinic", slot)
        request = SealRequest(
            block=SignatureBlock(
                signer_name=["Иванова Мария", "John Smith"][slot],
                signed_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
                method="SMS code",
                document_id="doc",
                verification_code="2345-6789",
            ),
            evidence=b'{"method": "sms_otp"}',
            field_name=f"medsign-{slot}",
            slot=slot,
        )
        pdf = seal_pdf(pdf, key, request, tsa)
    archive = build_archive(
        pdf, EVIDENCE, trust_roots=[dev_ca.certificate], crls=[dev_ca.crl()], timestamper=tsa
    )
    return pdf, archive


def _lta_spec(dev_ca: DevCA) -> PdfSignatureValidationSpec:
    """Strict policy: CRLs required for every certificate, nothing fetched online."""
    root = asn1_x509.Certificate.load(dev_ca.certificate.public_bytes(serialization.Encoding.DER))
    rule = RevocationCheckingRule.CRL_REQUIRED
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=[root]),
        revinfo_policy=CertRevTrustPolicy(RevocationCheckingPolicy(rule, rule)),
    )
    return PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=policy,
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
        )
    )


def _lta_statuses(data: bytes, dev_ca: DevCA) -> list[AdESStatus]:
    spec = _lta_spec(dev_ca)

    async def run() -> list[AdESStatus]:
        reader = PdfFileReader(io.BytesIO(data))
        out = []
        for sig in reader.embedded_regular_signatures:
            result = await ades_lta_validation(sig, spec)
            out.append(result.ades_subindic.status)
        return out

    return asyncio.run(run())


def test_archive_is_b_lta_valid_in_pyhanko(
    signed_and_archive: tuple[bytes, bytes], dev_ca: DevCA
) -> None:
    signed, archive = signed_and_archive
    assert archive.startswith(signed)  # the signed PDF is untouched
    assert _lta_statuses(archive, dev_ca) == [AdESStatus.PASSED, AdESStatus.PASSED]
    # The same strict policy fails without the archive's validation data: the check bites.
    assert AdESStatus.PASSED not in _lta_statuses(signed, dev_ca)


def test_archive_structure(signed_and_archive: tuple[bytes, bytes]) -> None:
    _signed, archive = signed_and_archive
    with pikepdf.open(io.BytesIO(archive)) as pdf:
        dss = pdf.Root.DSS
        assert len(dss.Certs) >= 3 and len(dss.CRLs) >= 1  # seal x2, TSA, CA; CA's CRL
        fields = {str(f.T): f for f in pdf.Root.AcroForm.Fields}
        ts = fields[ARCHIVE_FIELD]
        assert ts.V.Type == pikepdf.Name.DocTimeStamp
        assert ts.V.SubFilter == pikepdf.Name("/ETSI.RFC3161")
        [spec] = list(ts.AP.N.AF)
        assert str(spec.UF) == EVIDENCE_FILE
        assert spec.EF.F.read_bytes() == EVIDENCE


def test_archive_in_medsign_and_pdfsig(
    signed_and_archive: tuple[bytes, bytes], dev_ca: DevCA, pdfsig: PdfsigRunner
) -> None:
    _signed, archive = signed_and_archive
    report = validate_pdf(archive, [dev_ca.certificate])
    assert report.ok, report.reasons
    assert [s.method for s in report.signatures][-1] == "document_timestamp"
    blocks = pdfsig(archive).split("Signature #")[1:]
    assert len(blocks) == 3
    for block in blocks[:2]:  # the CAdES signatures; pdfsig 22.12 cannot check DocTimeStamps
        assert "Signature is Valid." in block and "Certificate is Trusted." in block, block
    assert "ETSI.CAdES.detached" not in blocks[2]


def test_crl_is_a_valid_crl_of_the_ca(dev_ca: DevCA) -> None:
    crl = dev_ca.crl(revoked=[1234])
    assert crl.is_signature_valid(dev_ca.certificate.public_key())  # type: ignore[arg-type]
    assert crl.issuer == dev_ca.certificate.subject
    assert crl.get_revoked_certificate_by_serial_number(1234) is not None
