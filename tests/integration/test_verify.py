"""Open verification: POST /api/v1/verify, the requisites check, the /verify page, /tsa."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from asn1crypto import tsp
from fastapi.testclient import TestClient
from sqlalchemy import select

from medsign.domain.tokens import verification_code
from medsign.envelopes.models import EnvelopeVersion, Signer
from medsign.pdf import SealRequest, SignatureBlock, seal_pdf
from medsign.pdf.timestamp import check_response
from medsign.pki import load_or_create_dev_ca
from medsign.runtime import Runtime
from medsign.web.app import create_app
from tests.support.api import create_envelope, new_org, patient, upload
from tests.support.pages import latest_code, path_of, press_sign, request_code
from tests.support.pdfs import encrypted_pdf, make_pdf
from tests.support.tamper import append_page, flip_byte_in_signed_range
from tests.support.worker import drain

PHONES = ["+79991234567", "+79997654321"]


def sign_envelope(client: TestClient, rt: Runtime, signers: int = 1) -> dict[str, Any]:
    """Create an envelope with ``signers`` sequential SMS signers and have all of them sign."""
    _, headers = new_org(rt)
    doc = upload(client, headers, make_pdf(2))
    people = [
        patient(name=name, phone=phone, order=i + 1)
        for i, (name, phone) in enumerate(
            zip(["Иванова Мария", "Петров Иван"], PHONES, strict=True)
        )
    ][:signers]
    env = create_envelope(client, headers, doc["id"], *people)
    drain(rt)
    for i in range(signers):
        state = client.get(f"/api/v1/envelopes/{env['id']}", headers=headers).json()
        path = path_of(state["signers"][i]["signing_url"])
        assert request_code(client, path).status_code == 303
        drain(rt)
        assert press_sign(client, path, latest_code(rt, PHONES[i])).status_code == 303
        drain(rt)
    pdf = client.get(f"/api/v1/envelopes/{env['id']}/pdf", headers=headers)
    assert pdf.status_code == 200
    return {"envelope": env, "document": doc, "headers": headers, "pdf": pdf.content}


def version_bytes(rt: Runtime, envelope_id: str, version: int) -> bytes:
    with rt.transaction() as session:
        sha = session.scalars(
            select(EnvelopeVersion.sha256).where(
                EnvelopeVersion.envelope_id == envelope_id, EnvelopeVersion.version == version
            )
        ).one()
    return rt.files.get(sha)


def post_verify(client: TestClient, data: bytes, name: str = "signed.pdf") -> Any:
    return client.post("/api/v1/verify", files={"file": (name, data, "application/pdf")})


def test_signed_pdf_verifies_with_timestamp(client: TestClient, rt: Runtime) -> None:
    signed = sign_envelope(client, rt)
    res = post_verify(client, signed["pdf"])  # no Authorization header
    assert res.status_code == 200, res.text
    body = res.json()
    # The documented shape (shared/API.md), exactly.
    assert body["valid"] is True
    assert body["envelope_id"] == signed["envelope"]["id"]
    (sig,) = body["signatures"]
    assert {"signer", "signed_at", "method", "intact", "valid"} <= set(sig)
    assert sig["signer"] == "Иванова Мария"
    assert sig["method"] == "sms_otp"
    assert sig["intact"] is True and sig["valid"] is True
    assert isinstance(sig["signed_at"], str)
    # And what is added around it.
    assert sig["trusted"] is True and sig["cryptographically_valid"] is True
    assert sig["timestamp_valid"] is True and sig["timestamp"]
    assert sig["covers_whole_document"] is True and sig["changes_after"] == "none"
    assert body["issued_by_medsign"] is True
    assert body["newer_version_exists"] is False
    assert body["reasons"] == []


def test_older_version_says_a_newer_one_exists(client: TestClient, rt: Runtime) -> None:
    signed = sign_envelope(client, rt, signers=2)
    env_id = signed["envelope"]["id"]
    body = post_verify(client, signed["pdf"]).json()
    assert body["valid"] is True, body
    assert [s["signer"] for s in body["signatures"]] == ["Иванова Мария", "Петров Иван"]
    assert [s["changes_after"] for s in body["signatures"]] == ["allowed", "none"]
    assert body["newer_version_exists"] is False
    first = post_verify(client, version_bytes(rt, env_id, 1)).json()
    assert first["valid"] is True  # a genuine earlier version: still valid ...
    assert first["issued_by_medsign"] is True
    assert first["envelope_id"] == env_id
    assert first["newer_version_exists"] is True  # ... but not the latest
    assert any("newer version" in r for r in first["reasons"])


def test_requisites_check(client: TestClient, rt: Runtime) -> None:
    signed = sign_envelope(client, rt)
    doc_id = signed["document"]["id"]
    signer_id = signed["envelope"]["signers"][0]["id"]
    code = verification_code(rt.keyring, signer_id)
    with rt.transaction() as session:
        assert session.get(Signer, signer_id).verification_code == code  # type: ignore[union-attr]
    res = client.get("/api/v1/verify/requisites", params={"document_id": doc_id, "code": code})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["found"] is True
    assert body["signer_initials"] == "И. М."
    assert body["method"] == "sms_otp"
    assert "Иванова" not in res.text and "+7999" not in res.text  # no personal data
    assert body["latest_sha256"] == __import__("hashlib").sha256(signed["pdf"]).hexdigest()
    # Typed loosely: lower case, spaces instead of the dash.
    loose = code.lower().replace("-", " ")
    assert client.get(
        "/api/v1/verify/requisites", params={"document_id": doc_id, "code": loose}
    ).json()["found"]
    wrong = "2222-2222" if code != "2222-2222" else "3333-3333"
    res = client.get("/api/v1/verify/requisites", params={"document_id": doc_id, "code": wrong})
    assert res.status_code == 200 and res.json()["found"] is False
    for params in (
        {"document_id": "not-a-uuid", "code": code},
        {"document_id": doc_id, "code": "0OI1"},
        {"document_id": doc_id},
    ):
        res = client.get("/api/v1/verify/requisites", params=params)
        assert res.status_code == 422, res.text
        assert res.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "carries a signature"), ("ru", "содержит подпись"), ("fa", "امضایی با این کد")],
)
def test_qr_link_opens_the_page_with_the_answer(
    client: TestClient, rt: Runtime, lang: str, text: str
) -> None:
    signed = sign_envelope(client, rt)
    doc_id = signed["document"]["id"]
    code = verification_code(rt.keyring, signed["envelope"]["signers"][0]["id"])
    page = client.get(f"/verify?document={doc_id}&code={code}&lang={lang}")
    assert page.status_code == 200
    assert text in page.text
    assert "Иванова" not in page.text
    assert f'value="{code}"' in page.text
    if lang == "fa":
        assert 'dir="rtl"' in page.text
    miss = client.get(f"/verify?document={doc_id}&code=2345-6789&lang=en")
    assert miss.status_code == 200 and "No signature with this document id" in miss.text
    bad = client.get("/verify?document=xyz&code=1&lang=en")
    assert bad.status_code == 422 and 'role="alert"' in bad.text


@pytest.mark.parametrize("lang", ["en", "ru", "fa"])
def test_page_upload(client: TestClient, rt: Runtime, lang: str) -> None:
    signed = sign_envelope(client, rt)
    page = client.post(
        f"/verify?lang={lang}", files={"file": ("s.pdf", signed["pdf"], "application/pdf")}
    )
    assert page.status_code == 200
    valid = {"en": "Valid: every signature", "ru": "Действителен", "fa": "معتبر: همه"}[lang]
    assert valid in page.text
    assert "Иванова Мария" in page.text  # from the file itself
    junk = client.post(f"/verify?lang={lang}", files={"file": ("x.pdf", b"hello", "text/plain")})
    assert junk.status_code == 422 and 'role="alert"' in junk.text


def other_ca_signed(tmp_path: Any) -> bytes:
    """A PDF sealed by a CA nobody configured, with a time-stamp from that CA's TSA."""
    from datetime import UTC, datetime

    from medsign.pdf.timestamp import LocalTsa

    ca = load_or_create_dev_ca(tmp_path / "rogue")
    key = ca.issue_seal(tmp_path / "rogue" / "org", "rogue", "Rogue clinic")
    req = SealRequest(
        block=SignatureBlock(
            signer_name="Mallory",
            signed_at=datetime.now(UTC).replace(microsecond=0),
            method="SMS code",
            document_id="00000000-0000-4000-8000-000000000000",
            verification_code="2345-6789",
            verify_url=None,
        ),
        evidence=b'{"signer_name": "Mallory", "method": "sms_otp"}',
        field_name="medsign-rogue",
        reason=None,
        location=None,
        slot=0,
    )
    return seal_pdf(make_pdf(), key, req, LocalTsa(ca.issue_tsa(tmp_path / "rogue" / "tsa")))


def test_tamper_matrix_over_http(client: TestClient, rt: Runtime, tmp_path: Any) -> None:
    signed = sign_envelope(client, rt)["pdf"]
    cases = {
        "byte-changed": flip_byte_in_signed_range(signed),
        "page-appended": append_page(signed),
        "unknown-ca": other_ca_signed(tmp_path),
        "unsigned": make_pdf(),
    }
    for name, data in cases.items():
        res = post_verify(client, data)
        assert res.status_code == 200, (name, res.text)
        body = res.json()
        assert body["valid"] is False, name
        assert body["reasons"], name
        assert body["issued_by_medsign"] is False, name
        assert all(not s["valid"] for s in body["signatures"]), name
    unknown = post_verify(client, cases["unknown-ca"]).json()["signatures"][0]
    assert unknown["cryptographically_valid"] is True and unknown["trusted"] is False
    assert unknown["timestamp_valid"] is False
    for name, data in {
        "not-a-pdf": b"GIF89a not a pdf",
        "empty": b"",
        "encrypted": encrypted_pdf(),
        "truncated": signed[: len(signed) // 3],
    }.items():
        res = post_verify(client, data)
        assert 400 <= res.status_code < 500, (name, res.status_code, res.text)
        assert res.headers["content-type"] == "application/problem+json"
        assert res.json()["detail"]
    assert post_verify(client, encrypted_pdf()).json()["type"] == "/problems/encrypted-document"


@pytest.fixture
def limited_client(rt: Runtime) -> Iterator[TestClient]:
    rt.settings.verify_rate_per_minute = 3
    with TestClient(create_app(runtime=rt, migrate=False)) as c:
        yield c


def test_rate_limited(limited_client: TestClient) -> None:
    doc = "00000000-0000-4000-8000-000000000000"
    for _ in range(3):
        res = limited_client.get(
            "/api/v1/verify/requisites", params={"document_id": doc, "code": "2345-6789"}
        )
        assert res.status_code == 200
    res = limited_client.get(
        "/api/v1/verify/requisites", params={"document_id": doc, "code": "2345-6789"}
    )
    assert res.status_code == 429
    assert res.headers["content-type"] == "application/problem+json"
    assert int(res.headers["retry-after"]) >= 1
    page = limited_client.get(f"/verify?document={doc}&code=2345-6789")
    assert page.status_code == 429 and int(page.headers["retry-after"]) >= 1
    assert post_verify(limited_client, make_pdf()).status_code == 429


def test_tsa_endpoint(client: TestClient, rt: Runtime) -> None:
    digest = b"\x42" * 32
    query = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": digest,
            },
            "nonce": 99,
            "cert_req": True,
        }
    ).dump()
    res = client.post(
        "/tsa", content=query, headers={"content-type": "application/timestamp-query"}
    )
    assert res.status_code == 200
    assert res.headers["content-type"] == "application/timestamp-reply"
    check_response(res.content, digest, 99)
    bad = client.post("/tsa", content=b"xx", headers={"content-type": "application/json"})
    assert bad.status_code == 422
    garbage = client.post(
        "/tsa", content=b"xx", headers={"content-type": "application/timestamp-query"}
    )
    assert garbage.status_code == 200  # an RFC 3161 rejection, not an HTTP error
    assert re.search(rb"\x02\x01\x02", garbage.content[:12])  # PKIStatus rejection(2)
