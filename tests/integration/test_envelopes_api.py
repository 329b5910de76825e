"""Creating, reading and voiding envelopes; policy; idempotency; isolation."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from medsign.envelopes.models import Envelope
from medsign.runtime import Runtime
from tests.support.api import create_envelope, new_org, patient, upload


def _envelopes(rt: Runtime) -> int:
    with rt.transaction() as session:
        return session.scalar(select(func.count()).select_from(Envelope)) or 0


def test_create_and_read(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    doc = upload(client, headers)
    env = create_envelope(
        client,
        headers,
        doc["id"],
        patient(order=1),
        patient("Clinic Admin", method="email_otp", order=2, role="clinic"),
    )
    assert env["status"] == "sent"
    first, second = env["signers"]
    assert first["status"] == "notified" and second["status"] == "waiting"
    assert first["signing_url"].startswith("http://testserver/s/")
    got = client.get(f"/api/v1/envelopes/{env['id']}", headers=headers).json()
    assert got["id"] == env["id"] and [s["id"] for s in got["signers"]] == [
        first["id"],
        second["id"],
    ]


BAD_SIGNERS: list[tuple[dict[str, Any], str]] = [
    ({"role": "patient", "name": "X", "method": "telepathy", "phone": "+79991234567"}, "method"),
    ({"role": "king", "name": "X", "method": "sms_otp", "phone": "+79991234567"}, "role"),
    ({"role": "patient", "name": "X", "method": "sms_otp"}, "phone"),
    ({"role": "patient", "name": "X", "method": "email_otp"}, "email"),
    ({"role": "patient", "name": "X", "method": "sms_otp", "phone": "12345"}, "international"),
    ({"role": "patient", "name": "X", "method": "email_otp", "email": "not-an-email"}, "email"),
    (
        {"role": "representative", "name": "X", "method": "sms_otp", "phone": "+79991234567"},
        "relation",
    ),
    (
        {"role": "patient", "name": "X", "method": "sms_otp", "phone": "+79991234567", "hat": 1},
        "hat",
    ),
    ({"role": "patient", "name": "", "method": "sms_otp", "phone": "+79991234567"}, "name"),
]


@pytest.mark.parametrize(("signer", "mentions"), BAD_SIGNERS)
def test_bad_signers_are_refused(
    client: TestClient, rt: Runtime, signer: dict[str, Any], mentions: str
) -> None:
    _, headers = new_org(rt)
    doc = upload(client, headers)
    res = client.post(
        "/api/v1/envelopes", headers=headers, json={"document_id": doc["id"], "signers": [signer]}
    )
    assert res.status_code == 422, res.text
    assert res.headers["content-type"].startswith("application/problem+json")
    assert mentions in res.text
    assert _envelopes(rt) == 0


def test_policy_refusal_names_the_rule(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    doc = upload(client, headers, kind="contract", title="Contract")
    res = client.post(
        "/api/v1/envelopes",
        headers=headers,
        json={"document_id": doc["id"], "signers": [patient()]},
    )
    assert res.status_code == 422
    body = res.json()
    assert body["type"] == "/problems/policy/edo-agreement-required"
    assert body["rule"] == "edo-agreement-required"
    assert "idp" in body["accepted_methods"]
    assert _envelopes(rt) == 0


def test_unknown_and_foreign_documents(client: TestClient, rt: Runtime) -> None:
    _, a = new_org(rt, "A")
    _, b = new_org(rt, "B")
    doc = upload(client, a)
    for headers, doc_id in ((a, "00000000-0000-0000-0000-000000000000"), (b, doc["id"])):
        res = client.post(
            "/api/v1/envelopes",
            headers=headers,
            json={"document_id": doc_id, "signers": [patient()]},
        )
        assert res.status_code == 404
    env = create_envelope(client, a, doc["id"])
    for suffix in ("", "/pdf"):
        assert client.get(f"/api/v1/envelopes/{env['id']}{suffix}", headers=b).status_code == 404
    res = client.post(f"/api/v1/envelopes/{env['id']}/void", headers=b, json={"reason": "x"})
    assert res.status_code == 404
    assert client.get(f"/api/v1/envelopes/{env['id']}", headers=a).json()["status"] == "sent"


def test_expires_at_must_be_aware_and_future(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    doc = upload(client, headers)
    for value in ("2026-12-01T10:00:00", "2020-01-01T10:00:00+00:00", "2030-01-01T00:00:00Z"):
        res = client.post(
            "/api/v1/envelopes",
            headers=headers,
            json={"document_id": doc["id"], "signers": [patient()], "expires_at": value},
        )
        assert res.status_code == 422, value
    assert _envelopes(rt) == 0


def test_void(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    doc = upload(client, headers)
    env = create_envelope(client, headers, doc["id"])
    res = client.post(
        f"/api/v1/envelopes/{env['id']}/void", headers=headers, json={"reason": "Wrong patient"}
    )
    assert res.status_code == 200
    body = res.json()
    assert body["status"] == "voided" and body["void_reason"] == "Wrong patient"
    assert body["signers"][0]["status"] == "cancelled"
    assert body["signers"][0]["signing_url"] is None
    again = client.post(
        f"/api/v1/envelopes/{env['id']}/void", headers=headers, json={"reason": "x"}
    )
    assert again.status_code == 409 and again.json()["type"] == "/problems/conflict"
    empty = client.post(f"/api/v1/envelopes/{env['id']}/void", headers=headers, json={})
    assert empty.status_code == 422


def test_idempotency_key(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    doc = upload(client, headers)
    body = {"document_id": doc["id"], "signers": [patient()]}
    h = {**headers, "Idempotency-Key": "order-42"}
    first = client.post("/api/v1/envelopes", headers=h, json=body)
    second = client.post("/api/v1/envelopes", headers=h, json=body)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert _envelopes(rt) == 1
    other = client.post(
        "/api/v1/envelopes", headers=h, json={**body, "signers": [patient("Other")]}
    )
    assert other.status_code == 422
    assert other.json()["type"] == "/problems/idempotency-key-reused"
    assert _envelopes(rt) == 1


def test_malformed_json_is_a_problem(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    res = client.post(
        "/api/v1/envelopes",
        headers={**headers, "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert res.status_code == 422
    assert res.headers["content-type"].startswith("application/problem+json")
