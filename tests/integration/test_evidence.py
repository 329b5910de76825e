"""The certificate of completion (evidence.json / evidence.pdf) and the B-LTA archive."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medsign.pdf import read_evidence, validate_pdf
from medsign.runtime import Runtime
from tests.support.api import create_envelope, new_org, patient, upload
from tests.support.pages import latest_code, path_of, press_sign, request_code
from tests.support.pdfs import make_pdf
from tests.support.worker import drain

PHONE = "+79991234567"


def _start(client: TestClient, rt: Runtime, lang: str) -> tuple[dict[str, Any], dict[str, str]]:
    _, headers = new_org(rt, "Клиника «Здоровье»")
    doc = upload(client, headers, make_pdf(1))
    env = create_envelope(client, headers, doc["id"], patient(phone=PHONE, lang=lang))
    drain(rt)
    return env, headers


def _sign(client: TestClient, rt: Runtime, env: dict[str, Any], headers: dict[str, str]) -> str:
    state = client.get(f"/api/v1/envelopes/{env['id']}", headers=headers).json()
    path = path_of(state["signers"][0]["signing_url"])
    assert request_code(client, path).status_code == 303
    drain(rt)
    code = latest_code(rt, PHONE)
    assert press_sign(client, path, code).status_code == 303
    return code


@pytest.mark.parametrize("lang", ["ru", "fa"])
def test_certificate_of_completion(client: TestClient, rt: Runtime, lang: str) -> None:
    env, headers = _start(client, rt, lang)
    base = f"/api/v1/envelopes/{env['id']}"
    early = client.get(f"{base}/evidence.json", headers=headers)
    assert early.status_code == 404
    assert early.headers["content-type"].startswith("application/problem+json")
    assert early.json()["envelope_status"] == "sent"

    code = _sign(client, rt, env, headers)
    drain(rt)
    assert client.get(base, headers=headers).json()["status"] == "completed"
    res = client.get(f"{base}/evidence.json", headers=headers)
    assert res.status_code == 200, res.text
    text = res.text
    data = json.loads(text)
    final = client.get(f"{base}/pdf", headers=headers).content
    assert data["document"]["sha256_final"] == hashlib.sha256(final).hexdigest()
    assert data["lang"] == lang
    [signer] = data["signers"]
    assert signer["name"] == "Иванова Мария"
    assert signer["contact"] and "1234567" not in signer["contact"]  # masked
    assert signer["how"]["channel"] == "sms"
    assert signer["how"]["code_attempts"] == 1
    assert signer["where"]["ip"]
    actions = [e["action"] for e in data["events"]]
    for action in ("envelope.sent", "signer.code_sent", "signer.signed", "envelope.completed"):
        assert action in actions, actions
    # No one-time code, link token or challenge id in the report.
    assert code not in text and "challenge_id" not in text
    assert not re.search(r"/s/[A-Za-z0-9_-]{16,}", text)

    pdf = client.get(f"{base}/evidence.pdf", headers=headers)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    report = validate_pdf(pdf.content, rt.seal_keys.trust_roots())
    assert report.ok, report.reasons
    assert all(s.timestamp_valid for s in report.signatures)
    embedded = read_evidence(pdf.content)
    assert embedded["medsign-evidence"] == data

    # The B-LTA archive: the final PDF as a prefix, valid, with the evidence attached.
    archive = client.get(f"{base}/archive.pdf", headers=headers)
    assert archive.status_code == 200
    assert archive.content.startswith(final) and len(archive.content) > len(final)
    assert client.get(f"{base}/pdf", headers=headers).content == final  # main PDF unchanged
    report = validate_pdf(archive.content, rt.seal_keys.trust_roots())
    assert report.ok, report.reasons
    assert report.signatures[-1].method == "document_timestamp"
    assert res.content in archive.content  # the evidence JSON, embedded uncompressed


def test_evidence_of_unknown_or_foreign_envelope_is_404(client: TestClient, rt: Runtime) -> None:
    env, _headers = _start(client, rt, "en")
    _, other = new_org(rt, "Other clinic")
    for name in ("evidence.json", "evidence.pdf", "archive.pdf"):
        assert client.get(f"/api/v1/envelopes/{env['id']}/{name}", headers=other).status_code == 404
        res = client.get(f"/api/v1/envelopes/not-an-id/{name}", headers=other)
        assert res.status_code == 404


def test_pki_publishes_ca_and_crl(client: TestClient, rt: Runtime) -> None:
    from cryptography import x509

    crt = client.get("/pki/ca.crt")
    assert crt.status_code == 200 and crt.headers["content-type"] == "application/pkix-cert"
    ca = x509.load_der_x509_certificate(crt.content)
    crl_res = client.get("/pki/ca.crl")
    assert crl_res.status_code == 200
    assert crl_res.headers["content-type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(crl_res.content)
    assert crl.issuer == ca.subject
    assert crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
