"""``/api/v1/appointments`` on SQLite and PostgreSQL: create, reschedule, cancel with a
reason (webhook ``appointment.cancelled`` with ``data.reason``), restore, results ready,
list; every bad input a 4xx problem; parallel creates of one MIS id on a served app."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from medsign.appointments.models import Appointment
from medsign.events.models import Event
from medsign.runtime import Runtime
from tests.support.api import new_org
from tests.support.clock import FrozenClock
from tests.support.webhook_receiver import WebhookReceiver
from tests.support.worker import drain

START = "2026-11-30T10:30:00+03:00"  # a week after the frozen clock's 23 November


def add_patient(
    client: TestClient, headers: dict[str, str], mis_id: str = "P-1", **extra: Any
) -> None:
    body = {"mis_id": mis_id, "name": "Иванова Мария", "phone": "+79991234567", **extra}
    res = client.post("/api/v1/patients", headers=headers, json=body)
    assert res.status_code in (200, 201), res.text


def appointment(mis_id: str = "AP-1", patient: str = "P-1", **extra: Any) -> dict[str, Any]:
    return {
        "mis_id": mis_id,
        "patient_mis_id": patient,
        "starts_at": START,
        "doctor": "Петров И. С.",
        "service": "Консультация",
        **extra,
    }


def events(rt: Runtime, type_: str) -> list[dict[str, Any]]:
    with rt.transaction() as session:
        return [
            e.data
            for e in session.scalars(select(Event).where(Event.type == type_).order_by(Event.id))
        ]


def problem(res: Any, status: int) -> dict[str, Any]:
    assert res.status_code == status, res.text
    assert res.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = res.json()
    assert body["detail"]
    return body


def test_create_read_list_with_the_clinics_time(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    add_patient(client, headers)
    res = client.patch(
        "/api/v1/organization/settings", headers=headers, json={"time_zone": "Asia/Tehran"}
    )
    assert res.status_code == 200, res.text
    res = client.post("/api/v1/appointments", headers=headers, json=appointment(telemedicine=True))
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["status"] == "scheduled" and body["telemedicine"] is True
    assert body["starts_at"].startswith("2026-11-30T07:30:00")
    assert body["local_starts_at"] == "2026-11-30 11:00 +03:30"
    assert body["time_zone"] == "Asia/Tehran"
    assert client.get("/api/v1/appointments/AP-1", headers=headers).json()["id"] == body["id"]
    listed = client.get("/api/v1/appointments", headers=headers, params={"patient_mis_id": "P-1"})
    assert [a["mis_id"] for a in listed.json()["items"]] == ["AP-1"]
    created = events(rt, "appointment.created")
    assert created == [
        {
            "appointment_id": body["id"],
            "mis_id": "AP-1",
            "patient_mis_id": "P-1",
            "status": "scheduled",
            "starts_at": "2026-11-30T07:30:00+00:00",
            "branch_id": None,
        }
    ]


def test_reschedule_cancel_with_reason_and_restore(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    add_patient(client, headers)
    client.post("/api/v1/appointments", headers=headers, json=appointment())
    moved = client.patch(
        "/api/v1/appointments/AP-1", headers=headers, json={"starts_at": "2026-12-01T09:00:00Z"}
    )
    assert moved.status_code == 200 and moved.json()["starts_at"].startswith("2026-12-01T09:00")
    cancelled = client.patch(
        "/api/v1/appointments/AP-1",
        headers=headers,
        json={"status": "cancelled", "reason": "Заболела"},
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancel_reason"] == "Заболела"
    [data] = events(rt, "appointment.cancelled")
    assert data["mis_id"] == "AP-1" and data["reason"] == "Заболела"
    # a cancelled appointment is not edited without restoring it
    problem(client.patch("/api/v1/appointments/AP-1", headers=headers, json={"doctor": "X"}), 409)
    problem(
        client.patch("/api/v1/appointments/AP-1", headers=headers, json={"status": "cancelled"}),
        409,
    )
    restored = client.patch(
        "/api/v1/appointments/AP-1", headers=headers, json={"status": "scheduled"}
    )
    assert restored.status_code == 200 and restored.json()["cancel_reason"] is None
    assert [e["mis_id"] for e in events(rt, "appointment.restored")] == ["AP-1"]
    assert len(events(rt, "appointment.updated")) == 1  # the reschedule


def test_past_appointments_cannot_be_cancelled_or_restored(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    _, headers = new_org(rt)
    add_patient(client, headers)
    client.post("/api/v1/appointments", headers=headers, json=appointment("AP-1"))
    client.post("/api/v1/appointments", headers=headers, json=appointment("AP-2"))
    client.patch("/api/v1/appointments/AP-2", headers=headers, json={"status": "cancelled"})
    clock.advance(days=8)
    body = problem(
        client.patch(
            "/api/v1/appointments/AP-1",
            headers=headers,
            json={"status": "cancelled", "reason": "x"},
        ),
        409,
    )
    assert "begun" in body["detail"]
    problem(
        client.patch("/api/v1/appointments/AP-2", headers=headers, json={"status": "scheduled"}),
        409,
    )
    # restoring with a new time in the future works
    res = client.patch(
        "/api/v1/appointments/AP-2",
        headers=headers,
        json={"status": "scheduled", "starts_at": "2026-12-10T10:00:00+03:00"},
    )
    assert res.status_code == 200, res.text
    assert res.json()["status"] == "scheduled"


def test_bad_inputs_are_problems_and_write_nothing(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    add_patient(client, headers)

    def post(body: dict[str, Any]) -> Any:
        return client.post("/api/v1/appointments", headers=headers, json=body)

    assert problem(post(appointment(patient="NOPE")), 422)["field"] == "patient_mis_id"
    problem(post(appointment(starts_at="2026-11-30T10:30:00")), 422)  # no offset
    problem(post(appointment(starts_at="tomorrow")), 422)
    problem(post(appointment(status="cancelled")), 422)
    problem(post(appointment(status="lost")), 422)
    problem(post(appointment(colour="red")), 422)
    problem(post({**appointment(), "doctor": ""}), 422)
    problem(post(appointment(branch_id="no-such-branch")), 404)
    with rt.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Appointment)) == 0
    assert post(appointment()).status_code == 201
    assert problem(post(appointment()), 409)["field"] == "mis_id"

    def patch(body: dict[str, Any]) -> Any:
        return client.patch("/api/v1/appointments/AP-1", headers=headers, json=body)

    problem(patch({"reason": "no status"}), 422)
    problem(patch({"status": "cancelled", "starts_at": START}), 422)
    problem(patch({"starts_at": "2026-12-01T09:00:00"}), 422)
    problem(client.patch("/api/v1/appointments/NOPE", headers=headers, json={}), 404)
    problem(
        client.get("/api/v1/appointments", headers=headers, params={"patient_mis_id": "X"}), 404
    )
    problem(client.get("/api/v1/appointments", headers=headers), 422)
    problem(client.post("/api/v1/appointments/NOPE/results-ready", headers=headers), 404)
    problem(client.get("/api/v1/appointments/AP-1"), 401)


def test_other_organizations_see_nothing(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    _, other = new_org(rt, "Clinic Two")
    add_patient(client, headers)
    client.post("/api/v1/appointments", headers=headers, json=appointment())
    problem(client.get("/api/v1/appointments/AP-1", headers=other), 404)
    problem(
        client.patch("/api/v1/appointments/AP-1", headers=other, json={"status": "cancelled"}), 404
    )
    # the other clinic's patient P-1 does not exist either
    problem(client.post("/api/v1/appointments", headers=other, json=appointment()), 422)


def test_parallel_creates_of_one_mis_id_make_one_appointment(served: str, rt: Runtime) -> None:
    _, headers = new_org(rt)
    with httpx.Client(base_url=served, timeout=30) as http:
        assert (
            http.post(
                "/api/v1/patients", headers=headers, json={"mis_id": "P-1", "name": "A"}
            ).status_code
            == 201
        )

        def create(i: int) -> int:
            body = appointment("AP-SAME" if i % 2 else f"AP-{i}")
            with httpx.Client(base_url=served, timeout=30) as own:
                return own.post("/api/v1/appointments", headers=headers, json=body).status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(create, range(16)))
    assert sorted(codes) == [201] * 9 + [409] * 7, codes
    with rt.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Appointment)) == 9
    assert len(events(rt, "appointment.created")) == 9


def test_appointment_webhooks_reach_the_mis_and_respect_branches(
    client: TestClient, rt: Runtime
) -> None:
    rt.settings.webhook_allow_private = True
    _, headers = new_org(rt)
    branch = client.post("/api/v1/branches", headers=headers, json={"name": "North"}).json()["id"]
    add_patient(client, headers)
    with WebhookReceiver() as everything, WebhookReceiver() as north:
        for receiver, extra in ((everything, {}), (north, {"branch_id": branch})):
            res = client.post(
                "/api/v1/webhooks",
                headers=headers,
                json={"url": receiver.url, "events": ["appointment.cancelled"], **extra},
            )
            assert res.status_code == 201, res.text
            receiver.secrets.append(res.json()["secret"])
        client.post("/api/v1/appointments", headers=headers, json=appointment("AP-ORG"))
        client.post(
            "/api/v1/appointments", headers=headers, json=appointment("AP-N", branch_id=branch)
        )
        for mis_id in ("AP-ORG", "AP-N"):
            res = client.patch(
                f"/api/v1/appointments/{mis_id}",
                headers=headers,
                json={"status": "cancelled", "reason": f"no time ({mis_id})"},
            )
            assert res.status_code == 200, res.text
        drain(rt, limit=500)
        got = everything.wait_for(2)
        assert [(r.type, r.body["data"]["mis_id"], r.body["data"]["reason"]) for r in got] == [
            ("appointment.cancelled", "AP-ORG", "no time (AP-ORG)"),
            ("appointment.cancelled", "AP-N", "no time (AP-N)"),
        ]
        [only] = north.wait_for(1)
        assert only.body["data"]["mis_id"] == "AP-N"
        assert len(north.unique) == 1


def test_parallel_cancels_and_a_repeated_patch(served: str, rt: Runtime) -> None:
    _, headers = new_org(rt)
    with httpx.Client(base_url=served, timeout=30) as http:
        http.post("/api/v1/patients", headers=headers, json={"mis_id": "P-1", "name": "A"})
        assert (
            http.post("/api/v1/appointments", headers=headers, json=appointment()).status_code
            == 201
        )
        same = http.patch(
            "/api/v1/appointments/AP-1", headers=headers, json={"doctor": "Петров И. С."}
        )
        assert same.status_code == 200
        assert events(rt, "appointment.updated") == []  # nothing changed: no event

        def cancel(i: int) -> int:
            with httpx.Client(base_url=served, timeout=30) as own:
                body = {"status": "cancelled", "reason": f"reason {i}"}
                return own.patch(
                    "/api/v1/appointments/AP-1", headers=headers, json=body
                ).status_code

        with ThreadPoolExecutor(6) as pool:
            codes = sorted(pool.map(cancel, range(6)))
    assert codes == [200] + [409] * 5, codes
    assert len(events(rt, "appointment.cancelled")) == 1
