"""Clinician devices through HTTP on SQLite and PostgreSQL: invite, enroll with proof
of possession, a prescription request prepared for the device, approved with the
device's own key (r||s and DER), and every bad input refused, audited, never signed."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from medsign.audit.models import AuditEvent
from medsign.notify.models import DevMessage
from medsign.pdf import read_evidence, validate_pdf
from medsign.runtime import Runtime
from tests.support.api import new_org, upload, validated_pdf
from tests.support.clock import FrozenClock
from tests.support.device import Device
from tests.support.worker import drain


def clinician(
    client: TestClient, headers: dict[str, str], name: str = "Dr. Sara Ahmadi", **extra: Any
) -> dict[str, Any]:
    """Invite a clinician; assert 201."""
    res = client.post(
        "/api/v1/clinicians",
        headers=headers,
        json={"name": name, "licence_number": "MC-123456", "email": "sara@example.com", **extra},
    )
    assert res.status_code == 201, res.text
    body: dict[str, Any] = res.json()
    return body


def prescription(
    client: TestClient, headers: dict[str, str], *clinician_ids: str, order: list[int] | None = None
) -> dict[str, Any]:
    """A prescription envelope signed by the clinicians' devices."""
    doc = upload(client, headers, kind="prescription", title="Prescription")
    signers = [
        {
            "role": "clinician",
            "name": f"Clinician {i}",
            "method": "device",
            "clinician_id": cid,
            "order": (order or [1] * len(clinician_ids))[i],
        }
        for i, cid in enumerate(clinician_ids)
    ]
    res = client.post(
        "/api/v1/envelopes", headers=headers, json={"document_id": doc["id"], "signers": signers}
    )
    assert res.status_code == 201, res.text
    body: dict[str, Any] = res.json()
    return body


def enrolled(
    client: TestClient, rt: Runtime, headers: dict[str, str], **extra: Any
) -> tuple[str, Device]:
    """A clinician with one enrolled device."""
    invited = clinician(client, headers, **extra)
    device = Device(raw=True)
    device.enroll(client, invited["enrollment_token"])
    return invited["id"], device


def audit_count(rt: Runtime, action: str) -> int:
    with rt.transaction() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
            )
            or 0
        )


def test_invite_enroll_sign_complete(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    invited = clinician(client, headers)
    assert invited["enrollment_url"].startswith("http://testserver/app#enroll=mse_")
    assert invited["enrollment_url"].endswith(invited["enrollment_token"])
    drain(rt)
    with rt.transaction() as session:  # the link went out through the notify path
        bodies = session.scalars(
            select(DevMessage.body).where(DevMessage.to == "sara@example.com")
        ).all()
    assert any(invited["enrollment_url"] in b for b in bodies)

    device = Device(raw=True)
    body = device.enroll(client, invited["enrollment_token"])
    cert = device.certificate
    assert cert is not None
    subject = cert.subject.rfc4514_string()
    assert "CN=Dr. Sara Ahmadi" in subject and "MC-123456" in subject and "Clinic One" in subject
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.content_commitment and not ku.key_cert_sign
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days <= 366
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert any(a.access_location.value == "http://testserver/pki/ocsp" for a in aia)
    crl_dp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert crl_dp[0].full_name[0].value == "http://testserver/pki/clinician-ca.crl"
    ca = rt.seal_keys.clinician_ca().certificate
    cert.verify_directly_issued_by(ca)
    assert body["chain"][0].startswith("-----BEGIN CERTIFICATE-----")

    env = prescription(client, headers, invited["id"])
    assert env["signers"][0].get("signing_url") is None
    drain(rt)
    items = device.requests(client)
    assert len(items) == 1
    item = items[0]
    assert item["algorithm"] == "ecdsa-p256-sha256" and item["envelope_id"] == env["id"]
    assert item["title"] == "Prescription"
    doc = client.get(item["document_url"].removeprefix("http://testserver"), headers=device.headers)
    assert doc.status_code == 200 and doc.content.startswith(b"%PDF-")

    res = device.approve(client, item, webauthn={"note": "test assertion"})
    assert res.status_code == 200, res.text
    assert res.json()["status"] == "approved"
    drain(rt)
    state = client.get(f"/api/v1/envelopes/{env['id']}", headers=headers).json()
    assert state["status"] == "completed" and state["signers"][0]["status"] == "signed"
    report = validated_pdf(client, rt, headers, env["id"])
    assert report.valid and len(report.signatures) == 1
    pdf = client.get(f"/api/v1/envelopes/{env['id']}/pdf", headers=headers).content
    evidence = next(iter(read_evidence(pdf).values()))
    assert evidence["method"] == "device" and evidence["certificate_serial"] == format(
        cert.serial_number, "x"
    )
    assert device.requests(client) == []
    # The certificate of completion and the B-LTA archive cover the device signature too.
    archive = client.get(f"/api/v1/envelopes/{env['id']}/archive.pdf", headers=headers)
    assert archive.status_code == 200 and archive.content.startswith(pdf)
    assert validate_pdf(archive.content, rt.seal_keys.trust_roots()).valid
    proof = client.get(f"/api/v1/envelopes/{env['id']}/evidence.json", headers=headers)
    assert proof.status_code == 200 and device.device_id in proof.text
    listed = client.get("/api/v1/clinicians", headers=headers).json()["items"]
    assert listed[0]["devices"][0]["id"] == device.device_id


def test_der_signatures_work_too(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    cid, device = enrolled(client, rt, headers)
    device.raw = False
    env = prescription(client, headers, cid)
    drain(rt)
    assert device.approve(client, device.requests(client)[0]).status_code == 200
    drain(rt)
    assert validated_pdf(client, rt, headers, env["id"]).valid


def test_bad_signatures_replays_and_other_devices_are_refused(
    client: TestClient, rt: Runtime
) -> None:
    _, headers = new_org(rt)
    cid, device = enrolled(client, rt, headers)
    env = prescription(client, headers, cid)
    drain(rt)
    item = device.requests(client)[0]
    url = f"/device/v1/requests/{item['id']}/approve"

    other_bytes = base64.b64encode(b"something else").decode()
    res = client.post(url, headers=device.headers, json={"signature": device.sign(other_bytes)})
    assert res.status_code == 422 and res.json()["type"] == "/problems/signature-invalid"
    res = client.post(url, headers=device.headers, json={"signature": "not base64!"})
    assert res.status_code == 422
    res = client.post(
        url, headers=device.headers, json={"signature": base64.b64encode(b"\x30\x01").decode()}
    )
    assert res.status_code == 422
    # Another device (even of another clinician of the same organization) cannot act.
    _, stranger = enrolled(client, rt, headers, name="Dr. Other")
    res = client.post(
        url, headers=stranger.headers, json={"signature": stranger.sign(item["to_sign"])}
    )
    assert res.status_code == 403 and res.json()["type"] == "/problems/wrong-workplace"
    # No token, a wrong token.
    assert client.post(url, json={"signature": device.sign(item["to_sign"])}).status_code == 401
    bad = {"Authorization": "Bearer msd_nope"}
    assert client.post(url, headers=bad, json={"signature": "AA=="}).status_code == 401

    assert device.approve(client, item).status_code == 200
    replay = device.approve(client, item)
    assert replay.status_code == 409 and replay.json()["type"] == "/problems/request-decided"
    assert audit_count(rt, "device.approval_refused") >= 3
    assert audit_count(rt, "signature.applied") == 1
    drain(rt)
    assert validated_pdf(client, rt, headers, env["id"]).valid


def test_expired_requests_and_revoked_devices(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    _, headers = new_org(rt)
    cid, device = enrolled(client, rt, headers)
    env = prescription(client, headers, cid)
    drain(rt)
    item = device.requests(client)[0]
    clock.advance(hours=rt.settings.device_request_ttl_hours + 1)
    assert device.requests(client) == []
    res = device.approve(client, item)
    assert res.status_code == 410 and res.json()["type"] == "/problems/request-expired"
    # The clinic sends it again: a fresh request, which signs.
    signer_id = env["signers"][0]["id"]
    res = client.post(f"/api/v1/envelopes/{env['id']}/signers/{signer_id}/resend", headers=headers)
    assert res.status_code == 200, res.text
    drain(rt)
    fresh = device.requests(client)
    assert len(fresh) == 1 and fresh[0]["id"] != item["id"]
    assert device.approve(client, fresh[0]).status_code == 200
    assert audit_count(rt, "signature.applied") == 1

    prescription(client, headers, cid)
    drain(rt)
    item = device.requests(client)[0]
    res = client.post(
        f"/api/v1/clinicians/{cid}/devices/{device.device_id}/revoke",
        headers=headers,
        json={"reason": "key_compromise"},
    )
    assert res.status_code == 200 and res.json()["status"] == "revoked"
    res = device.approve(client, item)
    assert res.status_code == 403 and res.json()["type"] == "/problems/device-revoked"
    assert audit_count(rt, "signature.applied") == 1


def test_enrollment_refusals(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    invited = clinician(client, headers)
    token = invited["enrollment_token"]
    device = Device()
    forged = device.csr(key=ec.generate_private_key(ec.SECP256R1()))
    # A CSR whose signature is by another key than the one it names: take the public
    # key of one request and the signature of another.
    own = x509.load_pem_x509_csr(device.csr().encode())
    other = x509.load_pem_x509_csr(forged.encode())
    assert own.public_key() != other.public_key()
    spliced = _splice_csr(own, other)
    res = client.post("/device/v1/enroll", json={"enrollment_token": token, "csr": spliced})
    assert res.status_code == 422, res.text
    assert res.json()["type"] == "/problems/proof-of-possession-failed"
    assert audit_count(rt, "clinician.enrollment_refused") == 1
    res = client.post("/device/v1/enroll", json={"enrollment_token": token, "csr": "nonsense"})
    assert res.status_code == 422
    from cryptography.hazmat.primitives.asymmetric import rsa

    rsa_csr = device.csr(key=rsa.generate_private_key(public_exponent=65537, key_size=2048))  # type: ignore[arg-type]
    res = client.post("/device/v1/enroll", json={"enrollment_token": token, "csr": rsa_csr})
    assert res.status_code == 422 and "P-256" in res.json()["detail"]
    res = client.post(
        "/device/v1/enroll", json={"enrollment_token": "mse_unknown", "csr": device.csr()}
    )
    assert res.status_code == 401
    device.enroll(client, token)
    again = client.post("/device/v1/enroll", json={"enrollment_token": token, "csr": device.csr()})
    assert again.status_code == 410


def _splice_csr(own: x509.CertificateSigningRequest, other: x509.CertificateSigningRequest) -> str:
    """``own``'s request info with ``other``'s signature: a forged proof of possession."""
    from asn1crypto import csr as asn1_csr
    from asn1crypto import pem
    from cryptography.hazmat.primitives.serialization import Encoding

    a = asn1_csr.CertificationRequest.load(own.public_bytes(Encoding.DER))
    b = asn1_csr.CertificationRequest.load(other.public_bytes(Encoding.DER))
    forged = asn1_csr.CertificationRequest(
        {
            "certification_request_info": a["certification_request_info"],
            "signature_algorithm": b["signature_algorithm"],
            "signature": b["signature"],
        }
    )
    armored: bytes = pem.armor("CERTIFICATE REQUEST", forged.dump())
    return armored.decode()


def test_lost_key_reenrollment_replaces_the_device(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    cid, lost = enrolled(client, rt, headers)
    env = prescription(client, headers, cid)
    drain(rt)
    assert len(lost.requests(client)) == 1
    res = client.post(
        f"/api/v1/clinicians/{cid}/enrollments",
        headers=headers,
        json={"replaces_device_id": lost.device_id},
    )
    assert res.status_code == 201, res.text
    new = Device(raw=True)
    new.enroll(client, res.json()["enrollment_token"])
    assert client.get("/device/v1/requests", headers=lost.headers).status_code == 403
    drain(rt)  # the waiting prescription is prepared for the new device
    items = new.requests(client)
    assert len(items) == 1 and items[0]["envelope_id"] == env["id"]
    assert new.approve(client, items[0]).status_code == 200
    drain(rt)
    assert validated_pdf(client, rt, headers, env["id"]).valid
    devices = client.get(f"/api/v1/clinicians/{cid}", headers=headers).json()["devices"]
    assert {d["status"] for d in devices} == {"active", "revoked"}


def test_workplaces_keep_apart(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    a = client.post("/api/v1/branches", headers=headers, json={"name": "Hospital"}).json()["id"]
    b = client.post("/api/v1/branches", headers=headers, json={"name": "Office"}).json()["id"]
    invited = clinician(client, headers, branch_id=a)
    at_a = Device(raw=True)
    at_a.enroll(client, invited["enrollment_token"])
    res = client.post(
        f"/api/v1/clinicians/{invited['id']}/enrollments", headers=headers, json={"branch_id": b}
    )
    at_b = Device()
    at_b.enroll(client, res.json()["enrollment_token"])
    assert at_b.certificate is not None and "Office" in at_b.certificate.subject.rfc4514_string()
    doc = upload(client, headers, kind="prescription", title="Rx")
    env = client.post(
        "/api/v1/envelopes",
        headers=headers,
        json={
            "document_id": doc["id"],
            "branch_id": a,
            "signers": [
                {
                    "role": "clinician",
                    "name": "Dr",
                    "method": "device",
                    "clinician_id": invited["id"],
                }
            ],
        },
    ).json()
    drain(rt)
    assert at_b.requests(client) == []  # the office's device gets nothing of the hospital's
    item = at_a.requests(client)[0]
    res = client.post(
        f"/device/v1/requests/{item['id']}/approve",
        headers=at_b.headers,
        json={"signature": at_b.sign(item["to_sign"])},
    )
    assert res.status_code == 403 and res.json()["type"] == "/problems/wrong-workplace"
    assert at_a.approve(client, item).status_code == 200
    drain(rt)
    assert validated_pdf(client, rt, headers, env["id"]).valid


def test_parallel_clinicians_reprepare_after_the_other_signed(
    client: TestClient, rt: Runtime
) -> None:
    _, headers = new_org(rt)
    cid1, d1 = enrolled(client, rt, headers)
    cid2, d2 = enrolled(client, rt, headers, name="Dr. Two")
    env = prescription(client, headers, cid1, cid2)
    drain(rt)
    first, second = d1.requests(client)[0], d2.requests(client)[0]
    assert d1.approve(client, first).status_code == 200
    stale = d2.approve(client, second)
    assert stale.status_code == 409 and stale.json()["type"] == "/problems/document-changed"
    drain(rt)
    fresh = d2.requests(client)
    assert len(fresh) == 1 and fresh[0]["id"] != second["id"]
    assert fresh[0]["to_sign"] != second["to_sign"]
    assert d2.approve(client, fresh[0]).status_code == 200
    drain(rt)
    report = validated_pdf(client, rt, headers, env["id"])
    assert report.valid and len(report.signatures) == 2
    state = client.get(f"/api/v1/envelopes/{env['id']}", headers=headers).json()
    assert state["status"] == "completed"


def test_decline(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    cid, device = enrolled(client, rt, headers)
    env = prescription(client, headers, cid)
    drain(rt)
    item = device.requests(client)[0]
    res = client.post(
        f"/device/v1/requests/{item['id']}/decline",
        headers=device.headers,
        json={"reason": "Wrong dose"},
    )
    assert res.status_code == 200 and res.json()["status"] == "declined"
    state = client.get(f"/api/v1/envelopes/{env['id']}", headers=headers).json()
    assert state["status"] == "declined"
    assert device.approve(client, item).status_code == 409


def test_batch_of_twenty_each_signed_separately(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    cid, device = enrolled(client, rt, headers)
    envs = [prescription(client, headers, cid)["id"] for _ in range(20)]
    drain(rt, limit=500)
    items = device.requests(client)
    assert len(items) == 20
    payload = [{"id": i["id"], "signature": device.sign(i["to_sign"])} for i in items]
    payload[3]["signature"] = device.sign(base64.b64encode(b"x").decode())
    res = client.post(
        "/device/v1/requests/approve", headers=device.headers, json={"items": payload}
    )
    assert res.status_code == 200, res.text
    results = res.json()["items"]
    assert [r["status"] for r in results].count("approved") == 19
    assert results[3]["status"] == "refused"
    assert results[3]["problem"]["type"] == "/problems/signature-invalid"
    retry = client.post(
        "/device/v1/requests/approve",
        headers=device.headers,
        json={"items": [{"id": items[3]["id"], "signature": device.sign(items[3]["to_sign"])}]},
    )
    assert retry.json()["items"][0]["status"] == "approved"
    drain(rt, limit=1000)
    for envelope_id in envs[:3]:
        assert validated_pdf(client, rt, headers, envelope_id).valid


@pytest.mark.parametrize("kind", ["crl", "ocsp"])
def test_revocation_answers(client: TestClient, rt: Runtime, kind: str) -> None:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509 import ocsp

    _, headers = new_org(rt)
    cid, revoked = enrolled(client, rt, headers)
    _, good = enrolled(client, rt, headers, name="Dr. Good")
    client.post(
        f"/api/v1/clinicians/{cid}/devices/{revoked.device_id}/revoke",
        headers=headers,
        json={"reason": "key_compromise"},
    )
    ca = x509.load_der_x509_certificate(client.get("/pki/clinician-ca.crt").content)
    assert revoked.certificate is not None and good.certificate is not None
    if kind == "crl":
        crl = x509.load_der_x509_crl(client.get("/pki/clinician-ca.crl").content)
        assert crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
        entry = crl.get_revoked_certificate_by_serial_number(revoked.certificate.serial_number)
        assert entry is not None
        assert crl.get_revoked_certificate_by_serial_number(good.certificate.serial_number) is None
        return

    def ask(cert: x509.Certificate) -> ocsp.OCSPResponse:
        req = ocsp.OCSPRequestBuilder().add_certificate(cert, ca, hashes.SHA1()).build()  # noqa: S303
        res = client.post(
            "/pki/ocsp",
            content=req.public_bytes(serialization.Encoding.DER),
            headers={"Content-Type": "application/ocsp-request"},
        )
        assert res.status_code == 200
        answer = ocsp.load_der_ocsp_response(res.content)
        assert answer.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
        ca_key = ca.public_key()
        assert isinstance(ca_key, ec.EllipticCurvePublicKey)
        ca_key.verify(answer.signature, answer.tbs_response_bytes, ec.ECDSA(hashes.SHA256()))
        return answer

    assert ask(revoked.certificate).certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert ask(good.certificate).certificate_status is ocsp.OCSPCertStatus.GOOD
    garbage = client.post("/pki/ocsp", content=b"\x30\x03\x02\x01\x00")
    assert ocsp.load_der_ocsp_response(garbage.content).response_status is (
        ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    )


def test_device_tokens_are_rate_limited(client: TestClient, rt: Runtime) -> None:
    rt.settings = rt.settings.model_copy(update={"api_rate_per_minute": 3})
    _, headers = new_org(rt)
    _, device = enrolled(client, rt, headers)
    codes = [
        client.get("/device/v1/requests", headers=device.headers).status_code for _ in range(5)
    ]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429, codes
