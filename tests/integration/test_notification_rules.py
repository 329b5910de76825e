"""Notification rules under a frozen clock, on SQLite and PostgreSQL: reminders across
DST (Europe/Berlin) and in Asia/Tehran's past DST, quiet hours, birthdays on the clinic's
calendar, after a service, after a status change, results ready, a status set after
sending; cancelled and rescheduled appointments; two workers scanning at once fire each
rule once per target (the ledger), and the messages reach a loopback SMS gateway once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from medsign.branding.models import Branding
from medsign.events.models import Event
from medsign.jobs.models import Job
from medsign.notify.models import DevMessage, NotificationMessage
from medsign.reminders.models import NotificationFiring, ScheduledNotification
from medsign.reminders.scan import fire_all_due, fire_due
from medsign.reminders.schedule import run_schedule_job
from medsign.reminders.status import apply_statuses
from medsign.runtime import Runtime
from tests.support.api import new_org
from tests.support.clock import FrozenClock
from tests.support.sms_gateway import SmsGateway
from tests.support.smtp_server import SmtpTestServer
from tests.support.worker import drain


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class Clinic:
    """An organization driven through the API, with the worker run by hand."""

    def __init__(self, client: TestClient, rt: Runtime, tz: str, **settings: Any) -> None:
        self.client, self.rt = client, rt
        self.org_id, self.headers = new_org(rt)
        res = client.patch(
            "/api/v1/organization/settings",
            headers=self.headers,
            json={"time_zone": tz, "notification_lang": "en", **settings},
        )
        assert res.status_code == 200, res.text

    def patient(self, mis_id: str = "P-1", phone: str = "+79991234567", **extra: Any) -> None:
        body = {"mis_id": mis_id, "name": "Maria Ivanova", "phone": phone, **extra}
        res = self.client.post("/api/v1/patients", headers=self.headers, json=body)
        assert res.status_code in (200, 201), res.text

    def appointment(self, mis_id: str, starts_at: str, patient: str = "P-1", **extra: Any) -> None:
        body = {
            "mis_id": mis_id,
            "patient_mis_id": patient,
            "starts_at": starts_at,
            "doctor": "Dr. Petrov",
            "service": "Consultation",
            **extra,
        }
        res = self.client.post("/api/v1/appointments", headers=self.headers, json=body)
        assert res.status_code == 201, res.text

    def patch(self, mis_id: str, **body: Any) -> dict[str, Any]:
        res = self.client.patch(f"/api/v1/appointments/{mis_id}", headers=self.headers, json=body)
        assert res.status_code == 200, res.text
        out: dict[str, Any] = res.json()
        return out

    def rule(self, **body: Any) -> dict[str, Any]:
        res = self.client.post("/api/v1/notification-rules", headers=self.headers, json=body)
        assert res.status_code == 201, res.text
        out: dict[str, Any] = res.json()
        return out

    def run(self) -> int:
        """Schedule what changed, fire what is due, send it; the rows fired."""
        drain(self.rt)
        fired = fire_all_due(self.rt)
        drain(self.rt)
        apply_statuses(self.rt)
        drain(self.rt)
        return fired


def sent(rt: Runtime) -> list[str]:
    with rt.transaction() as session:
        return list(session.scalars(select(DevMessage.body).order_by(DevMessage.id)))


def events(rt: Runtime, type_: str) -> list[dict[str, Any]]:
    with rt.transaction() as session:
        rows = session.scalars(select(Event).where(Event.type == type_).order_by(Event.id))
        return [e.data for e in rows]


def due_times(rt: Runtime) -> list[datetime]:
    with rt.transaction() as session:
        return list(
            session.scalars(
                select(ScheduledNotification.due_at).order_by(ScheduledNotification.due_at)
            )
        )


def test_a_day_before_reminder_keeps_berlin_wall_time_across_dst(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    clock.now = utc(2026, 3, 20, 12, 0)
    clinic = Clinic(client, rt, "Europe/Berlin")
    clinic.patient()
    clinic.appointment("AP-1", "2026-03-30T10:00:00+02:00")  # Monday after the change
    rule = clinic.rule(event="appointment.before", offset_minutes=1440, channels=["sms"])
    assert rule["event"] == "appointment.before" and rule["channels"] == ["sms"]
    clinic.run()
    assert due_times(rt) == [utc(2026, 3, 29, 8, 0)]  # Sunday 10:00 CEST
    clock.now = utc(2026, 3, 29, 7, 59)
    assert clinic.run() == 0 and sent(rt) == []
    clock.now = utc(2026, 3, 29, 8, 0)
    assert clinic.run() == 1
    assert sent(rt) == [
        "Maria Ivanova, your appointment at Clinic One: 2026-03-30 10:00 +02:00, "
        "Dr. Petrov, Consultation."
    ]
    clock.advance(minutes=5)
    assert clinic.run() == 0 and len(sent(rt)) == 1


def test_reminders_in_tehran_during_its_past_dst(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    clock.now = utc(2021, 6, 1, 0, 0)
    clinic = Clinic(client, rt, "Asia/Tehran")
    clinic.patient()
    clinic.appointment("AP-1", "2021-06-15T10:00:00+04:30")
    clinic.rule(
        event="appointment.before",
        offset_minutes=1440,
        channels=["sms"],
        template={"en": "{{ patient_name }}: {{ appointment_time }}"},
    )
    clinic.run()
    assert due_times(rt) == [utc(2021, 6, 14, 5, 30)]
    clock.now = utc(2021, 6, 14, 5, 30)
    clinic.run()
    assert sent(rt) == ["Maria Ivanova: 2021-06-15 10:00 +04:30"]


def test_quiet_hours_hold_messages_until_they_end(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    clock.now = utc(2026, 5, 1, 12, 0)
    clinic = Clinic(client, rt, "Europe/Moscow", quiet_hours={"start": "21:00", "end": "09:00"})
    clinic.patient()
    clinic.appointment("AP-10", "2026-05-04T10:00:00+03:00")  # reminder due 08:00: quiet
    clinic.appointment("AP-08", "2026-05-04T08:30:00+03:00")  # due 06:30; begun by 09:00
    clinic.appointment("AP-14", "2026-05-04T14:00:00+03:00")  # due 12:00: not quiet
    clinic.rule(event="appointment.before", offset_minutes=120, channels=["sms"])
    clinic.run()
    clock.now = utc(2026, 5, 4, 5, 0)  # 08:00 Moscow
    clinic.run()
    assert sent(rt) == []
    assert due_times(rt)[:2] == [utc(2026, 5, 4, 6, 0)] * 2  # moved to 09:00 Moscow
    clock.now = utc(2026, 5, 4, 6, 0)
    clinic.run()
    assert len(sent(rt)) == 1 and "10:00 +03:00" in sent(rt)[0]  # AP-08 has begun: dropped
    clock.now = utc(2026, 5, 4, 9, 0)
    clinic.run()
    assert len(sent(rt)) == 2 and "14:00 +03:00" in sent(rt)[1]
    # without quiet hours (none unless set) the message goes out at night
    res = client.patch(
        "/api/v1/organization/settings", headers=clinic.headers, json={"quiet_hours": None}
    )
    assert res.json()["quiet_hours"] is None


def test_birthdays_on_the_clinics_calendar_every_year(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    clock.now = utc(2021, 6, 1, 0, 0)
    clinic = Clinic(client, rt, "Asia/Tehran")
    clinic.patient(birth_date="1990-07-01")
    clinic.patient("P-2", phone="+79990000002")  # no birth date: never greeted
    clinic.rule(event="patient.birthday", offset_minutes=600, channels=["email", "sms"])
    clinic.run()
    assert due_times(rt) == [utc(2021, 7, 1, 5, 30)]  # 10:00 at +04:30
    clock.now = utc(2021, 7, 1, 5, 29)
    assert clinic.run() == 0
    clock.now = utc(2021, 7, 1, 5, 30)
    clinic.run()
    assert sent(rt) == ["Maria Ivanova, Clinic One wishes you a happy birthday!"]
    assert due_times(rt) == [utc(2022, 7, 1, 5, 30)]
    clock.now = utc(2022, 7, 1, 5, 30)
    clinic.run()
    assert due_times(rt) == [utc(2023, 7, 1, 6, 30)]  # no DST any more: +03:30
    assert len(sent(rt)) == 2
    # a new birth date reschedules (through the outbox)
    clinic.patient(birth_date="1990-08-15")
    clinic.run()
    assert due_times(rt) == [utc(2022, 8, 15, 5, 30)]


def test_after_a_service_after_a_status_change_and_results_ready(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    clinic = Clinic(client, rt, "Europe/Moscow")
    clinic.patient()
    clinic.appointment("MRI", "2026-11-24T10:00:00+03:00", service="MRI")
    clinic.appointment("GP", "2026-11-24T11:00:00+03:00")
    clinic.rule(
        event="appointment.after_service",
        offset_minutes=3 * 1440,
        services=["mri"],
        channels=["sms"],
        template={"en": "After {{ service }}"},
    )
    clinic.rule(
        event="appointment.status_changed",
        offset_minutes=30,
        statuses=["completed"],
        channels=["sms"],
        template={"en": "Status {{ status }} of {{ service }}"},
    )
    clinic.rule(
        event="results.ready",
        offset_minutes=0,
        channels=["sms"],
        template={"en": "Results of {{ service }}: {{ link }}"},
    )
    clinic.run()
    clock.now = utc(2026, 11, 24, 9, 0)
    clinic.patch("GP", status="arrived")  # not a status the rule wants
    clinic.patch("GP", status="completed")
    clinic.run()
    clock.advance(minutes=30)
    clinic.run()
    assert sent(rt) == ["Status completed of Consultation"]
    res = client.post("/api/v1/appointments/MRI/results-ready", headers=clinic.headers)
    assert res.status_code == 200 and res.json()["results_ready_at"]
    clinic.run()
    assert sent(rt)[1:] == ["Results of MRI: http://testserver/cabinet"]
    clock.now = utc(2026, 11, 27, 7, 0)  # three days after the MRI, 10:00 Moscow
    clinic.run()
    assert sent(rt)[2:] == ["After MRI"]


def test_cancel_reschedule_and_set_status_after_sending(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    clinic = Clinic(client, rt, "UTC")
    clinic.patient()
    clinic.appointment("A", "2026-11-25T10:00:00Z")
    clinic.appointment("B", "2026-11-25T11:00:00Z")
    clinic.rule(
        event="appointment.before", offset_minutes=60, channels=["sms"], set_status="notified"
    )
    clinic.run()
    clinic.patch("B", status="cancelled", reason="ill")
    clinic.run()
    clock.now = utc(2026, 11, 25, 9, 0)
    fire_all_due(rt)
    assert apply_statuses(rt) == 0  # not sent yet: the status waits
    assert client.get("/api/v1/appointments/A", headers=clinic.headers).json()["status"] == (
        "scheduled"
    )
    clinic.run()
    assert len(sent(rt)) == 1  # B was cancelled
    a = client.get("/api/v1/appointments/A", headers=clinic.headers).json()
    assert a["status"] == "notified"
    assert [e["status"] for e in events(rt, "appointment.updated")][-1] == "notified"
    # moved later: a new occurrence, reminded again; the old one never twice
    clinic.patch("A", starts_at="2026-11-25T12:00:00Z")
    clinic.run()
    clock.now = utc(2026, 11, 25, 11, 0)
    clinic.run()
    assert len(sent(rt)) == 2
    with rt.transaction() as session:
        assert session.scalar(select(func.count()).select_from(NotificationFiring)) == 2


@pytest.mark.parametrize(
    "bad",
    [
        {"event": "appointment.before", "offset_minutes": 0, "channels": ["sms"]},
        {"event": "appointment.later", "offset_minutes": 5, "channels": ["sms"]},
        {"event": "appointment.before", "offset_minutes": 5, "channels": []},
        {"event": "appointment.before", "offset_minutes": 5, "channels": ["pigeon"]},
        {"event": "appointment.before", "offset_minutes": -5, "channels": ["sms"]},
        {"event": "patient.birthday", "offset_minutes": 1440, "channels": ["sms"]},
        {
            "event": "patient.birthday",
            "offset_minutes": 600,
            "channels": ["sms"],
            "set_status": "notified",
        },
        {"event": "appointment.after_service", "offset_minutes": 5, "channels": ["sms"]},
        {
            "event": "appointment.before",
            "offset_minutes": 5,
            "channels": ["sms"],
            "services": ["x"],
        },
        {
            "event": "appointment.before",
            "offset_minutes": 5,
            "channels": ["sms"],
            "set_status": "cancelled",
        },
        {
            "event": "appointment.before",
            "offset_minutes": 5,
            "channels": ["sms"],
            "template": {"de": "x"},
        },
        {
            "event": "appointment.before",
            "offset_minutes": 5,
            "channels": ["sms"],
            "template": {"en": "{{ secret }}"},
        },
        {
            "event": "patient.birthday",
            "offset_minutes": 5,
            "channels": ["sms"],
            "template": {"en": "{{ doctor }}"},
        },
        {
            "event": "appointment.before",
            "offset_minutes": 5,
            "channels": ["sms"],
            "template": {"en": "{% if %}"},
        },
    ],
)
def test_bad_rules_are_refused(client: TestClient, rt: Runtime, bad: dict[str, Any]) -> None:
    _, headers = new_org(rt)
    res = client.post("/api/v1/notification-rules", headers=headers, json=bad)
    assert res.status_code == 422, res.text
    assert res.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/notification-rules", headers=headers).json()["items"] == []


def test_two_workers_scanning_at_once_fire_each_target_once(
    client: TestClient, rt: Runtime, clock: FrozenClock, sms_gateway: SmsGateway
) -> None:
    rt.settings = rt.settings.model_copy(update={"sms_url": sms_gateway.url})
    clinic = Clinic(client, rt, "Europe/Moscow")
    count = 120
    for i in range(count):
        phone = f"+7999{i:07d}"
        clinic.patient(f"P-{i}", phone=phone)
        clinic.appointment(f"A-{i}", "2026-11-24T10:00:00+03:00", patient=f"P-{i}")
    clinic.rule(event="appointment.before", offset_minutes=600, channels=["sms"])
    drain(rt, limit=10_000)
    clock.now = utc(2026, 11, 24, 0, 0)
    barrier = threading.Barrier(2)
    taken: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            while (n := fire_due(rt, batch=7)) > 0:
                taken.append(n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(taken) == count  # every row taken by exactly one worker
    with rt.transaction() as session:
        firings = session.scalar(select(func.count()).select_from(NotificationFiring))
        keys = session.scalars(select(NotificationMessage.idempotency_key)).all()
        ids = session.scalars(select(NotificationMessage.id)).all()
        payloads = session.scalars(select(Job.payload).where(Job.kind == "notify")).all()
    # each message is in exactly one delivery job (a scan's batch shares one job)
    queued = [i for p in payloads for i in p.get("message_ids", [p.get("message_id")])]
    assert firings == count
    assert len(keys) == len(set(keys)) == count
    assert sorted(queued) == sorted(ids)
    drain(rt, limit=10_000)
    assert len(sms_gateway.messages) == count
    assert len({m.to for m in sms_gateway.messages}) == count
    assert sms_gateway.duplicates == 0
    # and scanning again finds nothing
    assert fire_due(rt) == 0


def test_the_ledger_keeps_a_refilled_row_from_firing_twice(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    clinic = Clinic(client, rt, "UTC")
    clinic.patient()
    clinic.appointment("A", "2026-11-25T10:00:00Z")
    rule = clinic.rule(event="appointment.before", offset_minutes=60, channels=["sms"])
    clinic.run()
    clock.now = utc(2026, 11, 25, 9, 30)
    clinic.run()
    assert len(sent(rt)) == 1
    # the rule's targets are filled in again (as after a crash or a zone change) while
    # the reminder's occurrence is still ahead: the row is back, the firing is not
    with rt.transaction() as session:
        run_schedule_job(session, {"rule_id": rule["id"]}, now=rt.clock())
    assert len(due_times(rt)) == 1
    assert fire_due(rt) == 1  # taken...
    drain(rt)
    assert len(sent(rt)) == 1  # ...but not sent again
    with rt.transaction() as session:
        assert session.scalar(select(func.count()).select_from(NotificationMessage)) == 1


def test_rule_fired_messages_carry_the_brand_sender_name(
    client: TestClient,
    rt: Runtime,
    clock: FrozenClock,
    sms_gateway: SmsGateway,
    smtp_server: SmtpTestServer,
) -> None:
    """Queued messages go out under the organization's sender name as signing messages
    do (docs/branding.md): the e-mail From phrase and the SMS gateway's ``sender``; one
    message alone and a batch alike, and an organization without a brand keeps the
    default From and sends no sender."""
    rt.settings = rt.settings.model_copy(
        update={
            "sms_url": sms_gateway.url,
            "smtp_url": SecretStr(smtp_server.url),
            "smtp_from": "medsign <noreply@medsign.example>",
        }
    )
    clock.now = utc(2026, 11, 20, 9, 0)
    brand, plain = Clinic(client, rt, "Europe/Moscow"), Clinic(client, rt, "Europe/Moscow")
    with rt.transaction() as session:
        session.add(Branding(organization_id=brand.org_id, sender_name="Клиника Аврора"))
    brand.patient("P-1", phone="+79990000011", email="maria@example.org")
    brand.patient("P-2", phone="+79990000012")
    plain.patient("P-3", phone="+79990000013")
    for clinic, ids in ((brand, ("P-1", "P-2")), (plain, ("P-3",))):
        for pid in ids:
            clinic.appointment(f"A-{pid}", "2026-11-24T10:00:00+03:00", patient=pid)
        clinic.rule(event="appointment.before", offset_minutes=600, channels=["email", "sms"])
    brand.run()
    clock.now = utc(2026, 11, 24, 0, 0)
    assert brand.run() == 3  # the scan fires every organization's rows
    mail = smtp_server.wait_for()
    assert mail.to == "maria@example.org"
    assert str(mail.message["From"]) == "Клиника Аврора <noreply@medsign.example>"
    branded = sms_gateway.wait_for(lambda m: m.to == "+79990000012")
    assert branded.sender == "Клиника Аврора"
    other = sms_gateway.wait_for(lambda m: m.to == "+79990000013")
    assert other.sender is None
    assert len(smtp_server.messages) == 1 and len(sms_gateway.messages) == 2
