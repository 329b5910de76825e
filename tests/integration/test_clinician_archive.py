"""A device signature's B-LTA archive carries the clinician CA's revocation data (its
CRL and an OCSP answer for the device certificate) in the DSS, so it validates in
pyHanko with revocation checking that fails hard when the data is missing."""

from __future__ import annotations

import asyncio
import io

import pikepdf
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from fastapi.testclient import TestClient
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

from medsign.runtime import Runtime
from tests.integration.test_clinician_devices import enrolled, prescription
from tests.support.api import new_org
from tests.support.worker import drain


def _statuses(data: bytes, roots: list[x509.Certificate]) -> list[AdESStatus]:
    """pyHanko's PAdES LTA validation with only ``roots`` trusted, nothing fetched, and
    revocation data required for every certificate (hard fail)."""
    rule = RevocationCheckingRule.CRL_REQUIRED
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(
            trust_roots=[
                asn1_x509.Certificate.load(r.public_bytes(serialization.Encoding.DER))
                for r in roots
            ]
        ),
        revinfo_policy=CertRevTrustPolicy(RevocationCheckingPolicy(rule, rule)),
    )
    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=policy,
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
        )
    )

    async def run() -> list[AdESStatus]:
        reader = PdfFileReader(io.BytesIO(data))
        return [
            (await ades_lta_validation(sig, spec)).ades_subindic.status
            for sig in reader.embedded_regular_signatures
        ]

    return asyncio.run(run())


def test_device_signature_archive_validates_with_revocation_data(
    client: TestClient, rt: Runtime
) -> None:
    _, headers = new_org(rt)
    clinician_id, device = enrolled(client, rt, headers)
    env = prescription(client, headers, clinician_id)
    drain(rt)
    [item] = device.requests(client)
    assert device.approve(client, item).status_code == 200
    drain(rt)
    pdf = client.get(f"/api/v1/envelopes/{env['id']}/pdf", headers=headers).content
    archive = client.get(f"/api/v1/envelopes/{env['id']}/archive.pdf", headers=headers)
    assert archive.status_code == 200 and archive.content.startswith(pdf)

    ca = rt.seal_keys.clinician_ca()
    cert = device.certificate
    assert cert is not None
    with pikepdf.open(io.BytesIO(archive.content)) as doc:
        crls = [x509.load_der_x509_crl(c.read_bytes()) for c in doc.Root.DSS.CRLs]
        answers = [ocsp.load_der_ocsp_response(o.read_bytes()) for o in doc.Root.DSS.OCSPs]
    assert ca.certificate.subject in [c.issuer for c in crls]
    [answer] = answers
    assert answer.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.serial_number == cert.serial_number
    assert answer.certificate_status is ocsp.OCSPCertStatus.GOOD
    ca_key = ca.certificate.public_key()
    assert isinstance(ca_key, ec.EllipticCurvePublicKey) and answer.signature_hash_algorithm
    ca_key.verify(  # raises if the CA did not sign the answer
        answer.signature, answer.tbs_response_bytes, ec.ECDSA(answer.signature_hash_algorithm)
    )

    # Trust anchors: the clinician CA (the device) and the development CA (the TSA).
    roots = [ca.root, *[r for r in rt.seal_keys.trust_roots() if r != ca.root]]
    assert _statuses(archive.content, roots) == [AdESStatus.PASSED]
    # The same policy without the archive's DSS fails: the check bites.
    assert AdESStatus.PASSED not in _statuses(pdf, roots)
    # And the device certificate does not chain to the development CA alone.
    dev_only = [r for r in rt.seal_keys.trust_roots() if r != ca.root]
    assert AdESStatus.PASSED not in _statuses(archive.content, dev_only)
