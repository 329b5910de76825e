"""Appointments in the patient cabinet on SQLite and PostgreSQL: the schedule the MIS
publishes (``PUT /api/v1/schedule``), booking a free slot, cancelling with a reason (the
MIS receives ``appointment.cancelled`` with ``data.mis_id`` and ``data.reason`` on a real
HTTP receiver), a cancelled visit restored by the MIS, the clinic's time zone across DST,
and two patients pressing "Book" on one slot at once over HTTP."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from medsign.appointments.models import Appointment
from medsign.events.models import Event
from medsign.runtime import Runtime
from medsign.schedule.models import ScheduleSlot
from medsign.web.app import create_app
from tests.e2e.test_races import _at_once
from tests.support.api import new_org, upload
from tests.support.cabinet import attach_code, hidden, log_in, press_attach, put_patient
from tests.support.clock import FrozenClock
from tests.support.idp_flow import register, sign_through
from tests.support.oidc_peer import OidcPeer
from tests.support.webhook_receiver import WebhookReceiver
from tests.support.worker import drain

PHONE = "+79991234567"
START = "2026-11-30T10:30:00+03:00"  # a week after the frozen clock's 23 November


def schedule(*slots: tuple[str, str], telemedicine: bool = False) -> dict[str, Any]:
    """A schedule of one doctor and one service with ``(mis_id, starts_at)`` slots."""
    return {
        "doctors": [{"mis_id": "D-7", "name": "Петров И. С.", "specialty": "терапевт"}],
        "services": [
            {"mis_id": "S-1", "name": "Консультация терапевта", "telemedicine": telemedicine}
        ],
        "slots": [
            {"mis_id": m, "doctor_mis_id": "D-7", "service_mis_id": "S-1", "starts_at": s}
            for m, s in slots
        ],
    }


def publish(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    res = client.put("/api/v1/schedule", headers=headers, json=body)
    assert res.status_code == 200, res.text
    data: dict[str, Any] = res.json()
    return data


def problem(res: Any, status: int) -> dict[str, Any]:
    assert res.status_code == status, res.text
    assert res.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = res.json()
    assert body["detail"]
    return body


def attached(
    client: TestClient,
    rt: Runtime,
    headers: dict[str, str],
    mis_id: str,
    phone: str = PHONE,
    **card: Any,
) -> None:
    """A card ``mis_id`` with ``phone``, logged in and attached in ``client``."""
    put_patient(client, headers, mis_id, phone=phone, **card)
    log_in(client, rt, phone)
    assert press_attach(client, attach_code(client, headers, mis_id)).status_code == 200


def slot_ids(html: str) -> list[str]:
    return re.findall(r'action="/cabinet/slots/([^/"]+)/book"', html)


def event_data(rt: Runtime, type_: str) -> list[dict[str, Any]]:
    with rt.transaction() as session:
        return [
            e.data
            for e in session.scalars(select(Event).where(Event.type == type_).order_by(Event.id))
        ]


# -- the MIS publishes --------------------------------------------------------------------


def test_publish_replace_and_read_the_schedule(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    client.patch(
        "/api/v1/organization/settings", headers=headers, json={"time_zone": "Europe/Moscow"}
    )
    body = publish(client, headers, schedule(("SL-1", START), ("SL-2", "2026-11-30T07:45:00Z")))
    assert body["time_zone"] == "Europe/Moscow"
    assert sorted(s["local_starts_at"] for s in body["slots"]) == [
        "2026-11-30 10:30 +03:00",
        "2026-11-30 10:45 +03:00",
    ]
    assert body["doctors"][0]["specialty"] == "терапевт"
    again = publish(client, headers, schedule(("SL-2", "2026-11-30T07:45:00Z")))
    assert [s["mis_id"] for s in again["slots"]] == ["SL-2"]  # SL-1 withdrawn
    assert client.get("/api/v1/schedule", headers=headers).json() == again


def test_bad_schedules_are_refused_and_change_nothing(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    publish(client, headers, schedule(("SL-1", START)))
    before = client.get("/api/v1/schedule", headers=headers).json()
    naive = schedule(("SL-9", "2026-11-30T10:30:00"))
    unknown = schedule(("SL-9", START))
    unknown["slots"][0]["doctor_mis_id"] = "D-404"
    twice = schedule(("SL-9", START), ("SL-9", START))
    for bad in (naive, unknown, twice, {"slots": "x"}, {"doctors": [{"mis_id": "D"}]}):
        problem(client.put("/api/v1/schedule", headers=headers, json=bad), 422)
    foreign = schedule(("SL-9", START))
    foreign["slots"][0]["branch_id"] = "no-such-branch"
    problem(client.put("/api/v1/schedule", headers=headers, json=foreign), 404)
    assert client.get("/api/v1/schedule", headers=headers).json() == before
    problem(client.put("/api/v1/schedule", json=schedule()), 401)


# -- the patient books and cancels ---------------------------------------------------------


def test_book_cancel_with_a_reason_and_restore(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    rt.settings.webhook_allow_private = True
    _, headers = new_org(rt, "Clinic One")
    attached(client, rt, headers, "P-1")
    publish(client, headers, schedule(("SL-1", START), ("SL-2", "2026-12-01T08:00:00+03:00")))
    page = client.get("/cabinet/appointments?lang=en")
    assert page.status_code == 200
    assert "You have no appointments yet." in page.text
    assert "Петров И. С." in page.text and "Консультация терапевта" in page.text
    assert "2026-11-30 07:30 +00:00" in page.text  # the clinic's zone (UTC by default)
    first = slot_ids(page.text)[0]
    with WebhookReceiver() as mis:
        res = client.post(
            "/api/v1/webhooks",
            headers=headers,
            json={"url": mis.url, "events": ["appointment.created", "appointment.cancelled"]},
        )
        mis.secrets.append(res.json()["secret"])
        booked = client.post(
            f"/cabinet/slots/{first}/book", data=hidden(client, "/cabinet/appointments?lang=en")
        )
        assert booked.status_code == 200, booked.text
        assert "Booked: Консультация терапевта" in booked.text
        assert first not in slot_ids(booked.text)
        again = client.post(
            f"/cabinet/slots/{first}/book", data=hidden(client, "/cabinet/appointments?lang=en")
        )
        assert again.status_code == 409 and "just been taken" in again.text
        mine = client.get("/api/v1/appointments?patient_mis_id=P-1", headers=headers).json()
        [appointment] = mine["items"]
        assert appointment["doctor"] == "Петров И. С."
        published = client.get("/api/v1/schedule", headers=headers).json()
        assert published["slots"][0]["appointment_mis_id"] == appointment["mis_id"]

        listing = client.get("/cabinet/appointments?lang=en").text
        cancel_url = re.search(r'action="(/cabinet/appointments/[^"]+/cancel)"', listing)
        assert cancel_url and ">Cancel appointment<" in listing
        form = client.get(cancel_url.group(1) + "?lang=en")
        assert ">Reason<" in form.text and ">Cancel appointment<" in form.text
        fields = hidden(client, cancel_url.group(1) + "?lang=en")
        empty = client.post(cancel_url.group(1), data={**fields, "reason": "  "})
        assert empty.status_code == 422 and "Say why" in empty.text
        done = client.post(cancel_url.group(1), data={**fields, "reason": "Заболел ребёнок"})
        assert done.status_code == 303
        drain(rt, limit=500)
        created, cancelled = mis.wait_for(2)
    assert created.type == "appointment.created"
    assert created.body["data"]["slot_mis_id"] == "SL-1"
    assert created.body["data"]["booked_by"] == "patient"
    assert cancelled.type == "appointment.cancelled"
    assert cancelled.body["data"]["mis_id"] == appointment["mis_id"]
    assert cancelled.body["data"]["reason"] == "Заболел ребёнок"
    shown = client.get("/cabinet/appointments?lang=en&cancelled=1").text
    assert "Cancelled" in shown and "Reason: Заболел ребёнок" in shown
    assert ">Cancel appointment<" not in shown
    assert first in slot_ids(shown)  # the slot is free again
    restored = client.patch(
        f"/api/v1/appointments/{appointment['mis_id']}",
        headers=headers,
        json={"status": "scheduled"},
    )
    assert restored.status_code == 200, restored.text
    assert ">Cancel appointment<" in client.get("/cabinet/appointments?lang=en").text
    for lang, word in (("ru", "Записи на приём"), ("fa", "نوبت‌ها")):
        assert word in client.get(f"/cabinet/appointments?lang={lang}").text


def test_a_past_visit_cannot_be_cancelled_and_strangers_see_nothing(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    _, headers = new_org(rt)
    attached(client, rt, headers, "P-1")
    publish(client, headers, schedule(("SL-1", START)))
    [slot] = slot_ids(client.get("/cabinet/appointments?lang=en").text)
    fields = hidden(client, "/cabinet/appointments?lang=en")
    assert client.post(f"/cabinet/slots/{slot}/book", data=fields).status_code == 200
    with rt.transaction() as session:
        appointment_id = session.scalars(select(Appointment.id)).one()
    clock.advance(days=8)  # the visit is over
    page = client.get("/cabinet/appointments?lang=en").text
    assert "Past" in page and ">Cancel appointment<" not in page
    refused = client.post(
        f"/cabinet/appointments/{appointment_id}/cancel", data={**fields, "reason": "late"}
    )
    assert refused.status_code == 409 and "already begun" in refused.text
    with rt.transaction() as session:
        assert session.get(Appointment, appointment_id).status == "scheduled"  # type: ignore[union-attr]
    # another clinic's patient can neither book its slots nor cancel its visits
    other = TestClient(create_app(runtime=rt, migrate=False), follow_redirects=False)
    _, other_headers = new_org(rt, "Clinic Two")
    attached(other, rt, other_headers, "Q-1", phone="+79990000001")
    publish(client, headers, schedule(("SL-2", "2026-12-30T10:00:00+03:00")))
    with rt.transaction() as session:
        foreign = session.scalars(
            select(ScheduleSlot.id).where(ScheduleSlot.mis_id == "SL-2")
        ).one()
    theirs = hidden(other, "/cabinet/appointments?lang=en")
    assert other.post(f"/cabinet/slots/{foreign}/book", data=theirs).status_code == 404
    gone = other.post(
        f"/cabinet/appointments/{appointment_id}/cancel", data={**theirs, "reason": "x"}
    )
    assert gone.status_code == 404
    assert other.get(f"/cabinet/appointments/{appointment_id}/cancel").status_code == 404
    # without a session or with a stale form token nothing happens
    assert (
        TestClient(create_app(runtime=rt, migrate=False), follow_redirects=False)
        .post(f"/cabinet/slots/{foreign}/book", data={"csrf": "x"})
        .status_code
        == 303
    )
    with rt.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Appointment)) == 1


def test_times_on_the_clinics_clocks_across_dst(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    client.patch(
        "/api/v1/organization/settings", headers=headers, json={"time_zone": "Europe/Berlin"}
    )
    attached(client, rt, headers, "P-1")
    # Berlin moves to summer time at 01:00 UTC on 28 March 2027 and back at 01:00 UTC on
    # 31 October 2027 (EU directive 2000/84/EC): 02:30 happens twice that night.
    published = publish(
        client,
        headers,
        schedule(
            ("SPRING-1", "2027-03-28T00:30:00Z"),
            ("SPRING-2", "2027-03-28T01:30:00Z"),
            ("AUTUMN-1", "2027-10-31T00:30:00Z"),
            ("AUTUMN-2", "2027-10-31T01:30:00Z"),
            ("WINTER", "2026-12-01T10:00:00+01:00"),
        ),
    )
    local = {s["mis_id"]: s["local_starts_at"] for s in published["slots"]}
    assert local == {
        "WINTER": "2026-12-01 10:00 +01:00",
        "SPRING-1": "2027-03-28 01:30 +01:00",
        "SPRING-2": "2027-03-28 03:30 +02:00",
        "AUTUMN-1": "2027-10-31 02:30 +02:00",
        "AUTUMN-2": "2027-10-31 02:30 +01:00",
    }
    page = client.get("/cabinet/appointments?lang=en").text
    for shown in local.values():
        assert shown in page
    slots = slot_ids(page)
    fields = hidden(client, "/cabinet/appointments?lang=en")
    booked = client.post(f"/cabinet/slots/{slots[-1]}/book", data=fields)
    assert "2027-10-31 02:30 +01:00" in booked.text


def test_two_patients_book_one_slot_at_once(served: str, rt: Runtime) -> None:
    _, headers = new_org(rt)
    app = create_app(runtime=rt, migrate=False)
    phones = ("+79990000011", "+79990000012", "+79990000013", "+79990000014")
    cookies: list[tuple[dict[str, str], dict[str, str]]] = []
    for i, phone in enumerate(phones):
        local = TestClient(app, follow_redirects=False)
        attached(local, rt, headers, f"P-{i}", phone=phone)
        cookies.append((dict(local.cookies), hidden(local, "/cabinet/appointments?lang=en")))
    admin = TestClient(app, follow_redirects=False)
    publish(admin, headers, schedule(("SL-1", START)))
    with rt.transaction() as session:
        slot = session.scalars(select(ScheduleSlot.id)).one()

    def press(jar: dict[str, str], form: dict[str, str]) -> Any:
        def call() -> httpx.Response:
            with httpx.Client(base_url=served, timeout=30, cookies=jar) as http:
                return http.post(f"/cabinet/slots/{slot}/book", data=form)

        return call

    results = _at_once([press(jar, form) for jar, form in cookies])
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409, 409, 409], [r.text[:200] for r in results]
    with rt.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Appointment)) == 1
        taken = session.scalars(select(ScheduleSlot.appointment_id)).one()
        assert taken == session.scalars(select(Appointment.id)).one()
    assert len(event_data(rt, "appointment.created")) == 1


# -- online visits ----------------------------------------------------------------------


def test_an_online_visit_needs_the_consent_signed_through_the_provider(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    rt.settings.idp_allow_http = True
    _, headers = new_org(rt)
    with OidcPeer(clock) as peer:
        provider = register(client, headers, peer)
        attached(client, rt, headers, "P-1", birth_date="1990-04-12")  # as the provider says
        publish(client, headers, schedule(("TM-1", START), telemedicine=True))
        [slot] = slot_ids(client.get("/cabinet/appointments?lang=en").text)
        fields = hidden(client, "/cabinet/appointments?lang=en")
        not_set_up = client.post(f"/cabinet/slots/{slot}/book", data=fields)
        assert not_set_up.status_code == 409 and "does not take online bookings" in not_set_up.text

        other = upload(client, headers, kind="informed_consent", title="IDS")
        consent = upload(client, headers, kind="telemedicine_consent", title="Telemedicine")
        bad_kind = {"consent_document_id": other["id"], "identity_provider_id": provider["id"]}
        problem(client.put("/api/v1/schedule/telemedicine", headers=headers, json=bad_kind), 422)
        bad_idp = {"consent_document_id": consent["id"], "identity_provider_id": "nope"}
        problem(client.put("/api/v1/schedule/telemedicine", headers=headers, json=bad_idp), 422)
        problem(client.get("/api/v1/schedule/telemedicine", headers=headers), 404)
        good = {"consent_document_id": consent["id"], "identity_provider_id": provider["id"]}
        res = client.put("/api/v1/schedule/telemedicine", headers=headers, json=good)
        assert res.status_code == 200, res.text

        asked = client.post(f"/cabinet/slots/{slot}/book", data=fields)
        assert asked.status_code == 200 and "Sign the telemedicine consent" in asked.text
        link = re.search(r'href="(/s/[^"?]+)\?lang=en"', asked.text)
        assert link is not None
        again = client.post(f"/cabinet/slots/{slot}/book", data=fields)
        assert link.group(1) in again.text  # the same consent, not a second envelope
        with rt.transaction() as session:
            assert session.scalar(select(func.count()).select_from(Appointment)) == 0

        peer.account = "other"  # another person logs in: nothing is signed, nothing booked
        sign_through(client, link.group(1))
        assert (
            "Sign the telemedicine consent"
            in client.post(f"/cabinet/slots/{slot}/book", data=fields).text
        )
        peer.account = "maria"
        signed = sign_through(client, link.group(1))
        assert signed.status_code == 303, signed.text[-1500:]
        drain(rt, limit=500)  # the signature's follow-up books the slot held for her
        booked = client.get("/cabinet/appointments?lang=en")
        assert "Booked: Консультация терапевта" in booked.text, booked.text
        assert slot not in slot_ids(booked.text)
        again = client.post(f"/cabinet/slots/{slot}/book", data=fields)
        assert again.status_code == 409 and "just been taken" in again.text
    [created] = event_data(rt, "appointment.created")
    envelope_id = created["telemedicine_consent_envelope_id"]
    completed = [e["envelope_id"] for e in event_data(rt, "envelope.completed")]
    assert envelope_id in completed  # the signed consent reached the MIS's webhooks
    env = client.get(f"/api/v1/envelopes/{envelope_id}", headers=headers).json()
    assert env["status"] == "completed" and env["signers"][0]["method"] == "idp"
    with rt.transaction() as session:
        assert session.scalars(select(Appointment.telemedicine)).one() is True
