"""``POST /api/v1/patients/{mis_id}/attach-code`` and ``DELETE .../attachment`` on
SQLite and PostgreSQL: the card's required data, codes sent by the organization's
channel priority, single use, expiry, isolation between organizations."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from medsign.audit.models import AuditEvent
from medsign.cabinet.models import AttachCode
from medsign.runtime import Runtime
from tests.support.api import new_org
from tests.support.cabinet import (
    attach_code,
    log_in,
    messages_to,
    nine_digits,
    press_attach,
    put_patient,
)
from tests.support.clock import FrozenClock
from tests.support.worker import drain


def test_attach_code_is_nine_digits_hashed_sent_and_audited(
    client: TestClient, rt: Runtime
) -> None:
    org_id, headers = new_org(rt)
    put_patient(client, headers, "P-1")
    res = client.post("/api/v1/patients/P-1/attach-code", headers=headers)
    assert res.status_code == 201, res.text
    body = res.json()
    assert len(body["code"]) == 9 and body["code"].isdigit()
    assert body["channel"] == "sms"
    with rt.transaction() as session:
        row = session.scalars(select(AttachCode)).one()
        assert body["code"] not in row.code_hash  # only the keyed hash is stored
        actions = set(
            session.scalars(select(AuditEvent.action).where(AuditEvent.organization_id == org_id))
        )
    assert "patient.attach_code_issued" in actions
    drain(rt)
    sent = messages_to(rt, "+79991234567")
    assert sent and nine_digits(sent[-1]) == body["code"]
    assert "/cabinet" in sent[-1]


def test_channel_priority_email_first_and_fallback(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    put_patient(client, headers, "P-2", email="maria@example.com")
    res = client.put(
        "/api/v1/cabinet/settings",
        headers=headers,
        json={"attach_channel_priority": "email_first"},
    )
    assert res.status_code == 200, res.text
    assert res.json()["attach_channel_priority"] == "email_first"
    code = attach_code(client, headers, "P-2")
    drain(rt)
    assert nine_digits(messages_to(rt, "maria@example.com")[-1]) == code
    # email first, but the card has no email: the phone is the fallback
    put_patient(client, headers, "P-3", phone="+79990000003")
    res = client.post("/api/v1/patients/P-3/attach-code", headers=headers)
    assert res.json()["channel"] == "sms"


def test_card_missing_data_says_what_is_missing(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    res = client.post(
        "/api/v1/patients",
        headers=headers,
        json={"mis_id": "P-4", "name": "Петров Пётр"},
    )
    assert res.status_code == 201
    res = client.post("/api/v1/patients/P-4/attach-code", headers=headers)
    assert res.status_code == 422
    problem = res.json()
    assert res.headers["content-type"].startswith("application/problem+json")
    assert "birth_date" in problem["detail"] and "phone or email" in problem["detail"]
    assert problem["missing"] == ["birth_date", "phone or email"]
    with rt.transaction() as session:
        assert session.scalars(select(AttachCode)).first() is None  # nothing half-written
    assert client.post("/api/v1/patients/NOPE/attach-code", headers=headers).status_code == 404
    assert client.post("/api/v1/patients/P-4/attach-code").status_code == 401


def test_other_organizations_cannot_touch_the_card(client: TestClient, rt: Runtime) -> None:
    _, headers_a = new_org(rt, "Clinic A")
    _, headers_b = new_org(rt, "Clinic B")
    put_patient(client, headers_a, "SAME")
    code = attach_code(client, headers_a, "SAME")
    assert client.post("/api/v1/patients/SAME/attach-code", headers=headers_b).status_code == 404
    assert client.delete("/api/v1/patients/SAME/attachment", headers=headers_b).status_code == 404
    log_in(client, rt, "+79991234567")
    assert press_attach(client, code).status_code == 200
    # B's delete did nothing; A's does
    assert client.delete("/api/v1/patients/SAME/attachment", headers=headers_b).status_code == 404
    assert client.delete("/api/v1/patients/SAME/attachment", headers=headers_a).status_code == 204
    assert client.delete("/api/v1/patients/SAME/attachment", headers=headers_a).status_code == 404


def test_new_code_replaces_old_and_codes_expire(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    _, headers = new_org(rt)
    put_patient(client, headers, "P-5")
    first = attach_code(client, headers, "P-5")
    second = attach_code(client, headers, "P-5")
    log_in(client, rt, "+79991234567")
    res = press_attach(client, first)
    assert res.status_code == 422 and "replaced by a newer one" in res.text
    clock.advance(hours=73)  # past the 72-hour default; the session lives on
    res = press_attach(client, second)
    assert res.status_code == 422 and "expired" in res.text


def test_detach_then_reattach_with_a_new_code(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt, "Clinic Detach")
    put_patient(client, headers, "P-6")
    code = attach_code(client, headers, "P-6")
    log_in(client, rt, "+79991234567")
    res = press_attach(client, code)
    assert res.status_code == 200 and "You are attached to Clinic Detach" in res.text
    res = press_attach(client, code)
    assert res.status_code == 409 and "already attached" in res.text
    assert client.delete("/api/v1/patients/P-6/attachment", headers=headers).status_code == 204
    assert "Clinic Detach" not in client.get("/cabinet?lang=en").text
    res = press_attach(client, code)  # single use: the old code does not re-attach
    assert res.status_code == 409 and "already used" in res.text
    res = press_attach(client, attach_code(client, headers, "P-6"))
    assert res.status_code == 200 and "Clinic Detach" in res.text


def test_attach_codes_per_card_are_rate_limited(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    put_patient(client, headers, "P-7")
    for _ in range(rt.settings.cabinet_attach_codes_per_patient_per_day):
        attach_code(client, headers, "P-7")
    res = client.post("/api/v1/patients/P-7/attach-code", headers=headers)
    assert res.status_code == 429
    assert int(res.headers["retry-after"]) > 0


def test_openapi_names_the_cabinet_endpoints(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "post" in paths["/api/v1/patients/{mis_id}/attach-code"]
    assert "delete" in paths["/api/v1/patients/{mis_id}/attachment"]
    assert "put" in paths["/api/v1/cabinet/settings"]
