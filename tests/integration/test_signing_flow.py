"""A patient signs with a code, end to end through the API, pages and worker."""

from __future__ import annotations

from fastapi.testclient import TestClient

from medsign.pdf.validate import validate_pdf
from medsign.runtime import Runtime
from tests.support.api import create_envelope, new_org, patient, upload
from tests.support.pages import latest_code, path_of, press_sign, request_code
from tests.support.worker import drain


def test_patient_signs_with_sms_code(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    doc = upload(client, headers)
    env = create_envelope(client, headers, doc["id"], patient())
    assert env["status"] == "sent"
    signer = env["signers"][0]
    assert signer["status"] == "notified"
    drain(rt)  # invitation goes to the dev outbox
    path = path_of(signer["signing_url"])
    page = client.get(path + "?lang=en")
    assert page.status_code == 200
    for label in ("Send code", ">Code<", ">Sign<", "Decline", 'autocomplete="one-time-code"'):
        assert label in page.text
    assert request_code(client, path).status_code == 303
    drain(rt)
    code = latest_code(rt, "+79991234567")
    res = press_sign(client, path, code)
    assert res.status_code == 303, res.text
    assert "Signed" in client.get(path + "?lang=en").text
    drain(rt)  # the seal job
    state = client.get(f"/api/v1/envelopes/{env['id']}", headers=headers).json()
    assert state["status"] == "completed"
    assert state["signers"][0]["status"] == "signed"
    pdf = client.get(f"/api/v1/envelopes/{env['id']}/pdf", headers=headers)
    assert pdf.status_code == 200
    report = validate_pdf(pdf.content, rt.seal_keys.trust_roots())
    assert report.valid
    assert len(report.signatures) == 1
    sig = report.signatures[0]
    assert sig.intact and sig.valid and sig.trusted
    assert sig.evidence is not None
    assert sig.evidence["signer"]["name"] == "Иванова Мария"
    assert sig.evidence["document"]["sha256_shown"] == doc["sha256"]
