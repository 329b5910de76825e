"""An online slot held while the patient signs the telemedicine consent, on SQLite and
PostgreSQL (docs/cabinet.md "Online visits"): others neither see nor book it, the
consent's signature books it (the follow-up job, or the patient's return to the
cabinet), an expired hold goes to the next patient and its holder is told, a declined
consent lets it go; several patients pressing "Book" at once make one hold, and the
holder's booking racing others after expiry never makes two appointments."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from medsign.appointments.models import Appointment
from medsign.envelopes.models import Envelope
from medsign.patients.models import Patient
from medsign.runtime import Runtime
from medsign.schedule.models import ScheduleSlot, SlotHold
from medsign.web.app import create_app
from tests.integration.test_cabinet_visits import (
    START,
    attached,
    event_data,
    publish,
    schedule,
    slot_ids,
)
from tests.support.api import new_org, upload
from tests.support.cabinet import hidden
from tests.support.clock import FrozenClock
from tests.support.idp_flow import register, sign_through
from tests.support.oidc_peer import OidcPeer
from tests.support.pages import form_fields
from tests.support.worker import drain

LATER = "2026-12-01T10:30:00+03:00"
MARIA = "1990-04-12"  # the birth date the provider vouches for "maria"


@pytest.fixture
def peer(clock: FrozenClock) -> Iterator[OidcPeer]:
    """The identity provider on loopback."""
    with OidcPeer(clock) as provider:
        yield provider


def online_clinic(client: TestClient, rt: Runtime, peer: OidcPeer, *slots: str) -> dict[str, str]:
    """An organization taking online visits (consent and provider set) with ``slots``
    (MIS ids) published as telemedicine slots; its API headers."""
    rt.settings.idp_allow_http = True
    _, headers = new_org(rt)
    provider = register(client, headers, peer)
    consent = upload(client, headers, kind="telemedicine_consent", title="Telemedicine")
    body = {"consent_document_id": consent["id"], "identity_provider_id": provider["id"]}
    assert client.put("/api/v1/schedule/telemedicine", headers=headers, json=body).is_success
    times = [START, LATER, "2026-12-02T10:30:00+03:00", "2026-12-03T10:30:00+03:00"]
    publish(client, headers, schedule(*zip(slots, times, strict=False), telemedicine=True))
    return headers


def patient(rt: Runtime, headers: dict[str, str], n: int) -> TestClient:
    """Patient ``n`` (card P-n, the provider's "maria"), logged in and attached."""
    local = TestClient(create_app(runtime=rt, migrate=False), follow_redirects=False)
    attached(local, rt, headers, f"P-{n}", phone=f"+7999000{n:04d}", birth_date=MARIA)
    return local


def slot_id(rt: Runtime, mis_id: str) -> str:
    with rt.transaction() as session:
        return session.scalars(select(ScheduleSlot.id).where(ScheduleSlot.mis_id == mis_id)).one()


def press_book(client: TestClient, slot: str) -> Any:
    return client.post(
        f"/cabinet/slots/{slot}/book", data=hidden(client, "/cabinet/appointments?lang=en")
    )


def consent_link(page: str) -> str:
    found = re.search(r'href="(/s/[^"?]+)\?lang=en"', page)
    assert found is not None, page
    return found.group(1)


def count(rt: Runtime, model: type[Any]) -> int:
    with rt.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def appointments_on(rt: Runtime, mis_id: str) -> list[dict[str, Any]]:
    return [e for e in event_data(rt, "appointment.created") if e["slot_mis_id"] == mis_id]


def test_a_held_slot_is_kept_from_others_and_booked_by_the_signature(
    client: TestClient, rt: Runtime, clock: FrozenClock, peer: OidcPeer
) -> None:
    headers = online_clinic(client, rt, peer, "TM-1", "TM-2")
    maria, ivan = patient(rt, headers, 1), patient(rt, headers, 2)
    slot = slot_id(rt, "TM-1")
    asked = press_book(maria, slot)
    assert asked.status_code == 200 and "Sign the telemedicine consent" in asked.text
    assert "held for you until 2026-11-23 09:15 +00:00" in asked.text  # 15 minutes
    mine = maria.get("/cabinet/appointments?lang=en").text
    assert slot in slot_ids(mine) and "Held for you until 2026-11-23 09:15" in mine
    assert slot not in slot_ids(ivan.get("/cabinet/appointments?lang=en").text)
    refused = press_book(ivan, slot)
    assert refused.status_code == 409 and "held for another patient" in refused.text
    assert slot_id(rt, "TM-2") in slot_ids(refused.text)  # and the times still free
    with rt.transaction() as session:  # Ivan's refused press wrote nothing
        assert session.scalar(select(func.count()).select_from(SlotHold)) == 1
        consents = select(func.count()).where(Envelope.kind == "telemedicine_consent")
        assert session.scalar(consents) == 1

    clock.advance(minutes=10)
    again = press_book(maria, slot)  # renewed, the same consent
    assert consent_link(again.text) == consent_link(asked.text)
    assert "until 2026-11-23 09:25" in again.text
    with rt.transaction() as session:
        assert session.scalar(select(func.count()).select_from(SlotHold)) == 1

    signed = sign_through(maria, consent_link(asked.text))
    assert signed.status_code == 303, signed.text[-1500:]
    # back in the cabinet before any worker ran: the page books it
    page = maria.get("/cabinet/appointments?lang=en").text
    assert "Booked: Консультация терапевта" in page, page
    assert slot not in slot_ids(page) and "Online visit" in page
    assert "Booked:" not in maria.get("/cabinet/appointments?lang=en").text  # told once
    drain(rt, limit=500)  # the follow-up job finds it settled: still one appointment
    [created] = appointments_on(rt, "TM-1")
    assert created["booked_by"] == "patient" and created["telemedicine_consent_envelope_id"]
    assert count(rt, Appointment) == 1 and count(rt, SlotHold) == 0
    ru = maria.get("/cabinet/appointments?lang=ru").text
    fa = maria.get("/cabinet/appointments?lang=fa").text
    assert "Записи на приём" in ru and "نوبت‌ها" in fa


def test_the_follow_up_job_books_without_the_patient_coming_back(
    client: TestClient, rt: Runtime, clock: FrozenClock, peer: OidcPeer
) -> None:
    headers = online_clinic(client, rt, peer, "TM-1")
    maria = patient(rt, headers, 1)
    slot = slot_id(rt, "TM-1")
    link = consent_link(press_book(maria, slot).text)
    clock.advance(minutes=20)  # the hold expired, but nobody else wanted the time
    assert sign_through(maria, link).status_code == 303
    drain(rt, limit=500)
    [created] = appointments_on(rt, "TM-1")
    with rt.transaction() as session:
        taken = session.scalars(select(ScheduleSlot.appointment_id)).one()
        appointment = session.get(Appointment, taken)
        assert appointment is not None and appointment.mis_id == created["mis_id"]
    assert "Booked: Консультация терапевта" in maria.get("/cabinet/appointments?lang=en").text


def test_an_expired_hold_goes_to_the_next_patient_and_its_holder_is_told(
    client: TestClient, rt: Runtime, clock: FrozenClock, peer: OidcPeer
) -> None:
    headers = online_clinic(client, rt, peer, "TM-1", "TM-2")
    maria, ivan = patient(rt, headers, 1), patient(rt, headers, 2)
    slot = slot_id(rt, "TM-1")
    link = consent_link(press_book(maria, slot).text)
    clock.advance(minutes=14, seconds=59)
    assert press_book(ivan, slot).status_code == 409
    clock.advance(seconds=1)  # expires_at is not in the future any more
    assert slot in slot_ids(ivan.get("/cabinet/appointments?lang=en").text)
    theirs = press_book(ivan, slot)
    assert theirs.status_code == 200 and "Sign the telemedicine consent" in theirs.text
    told = maria.get("/cabinet/appointments?lang=en")  # she is told at once, and once
    assert "went to another patient" in told.text
    assert slot not in slot_ids(told.text) and slot_id(rt, "TM-2") in slot_ids(told.text)
    refused = press_book(maria, slot)
    assert refused.status_code == 409 and "went to another" not in refused.text
    assert sign_through(maria, link).status_code == 303
    drain(rt, limit=500)  # her signature finds no hold of hers: nothing booked
    assert count(rt, Appointment) == 0
    # her consent is signed now: the other time books at once
    booked = press_book(maria, slot_id(rt, "TM-2"))
    assert booked.status_code == 200 and "Booked:" in booked.text
    assert sign_through(ivan, consent_link(theirs.text)).status_code == 303
    drain(rt, limit=500)
    assert len(appointments_on(rt, "TM-1")) == 1 and count(rt, Appointment) == 2
    assert "Booked:" in ivan.get("/cabinet/appointments?lang=en").text


def test_a_declined_consent_lets_the_slot_go_and_one_hold_per_patient(
    client: TestClient, rt: Runtime, clock: FrozenClock, peer: OidcPeer
) -> None:
    headers = online_clinic(client, rt, peer, "TM-1", "TM-2")
    maria, ivan = patient(rt, headers, 1), patient(rt, headers, 2)
    first, second = slot_id(rt, "TM-1"), slot_id(rt, "TM-2")
    press_book(maria, first)
    link = consent_link(press_book(maria, second).text)  # she changed her mind: one hold
    assert first in slot_ids(ivan.get("/cabinet/appointments?lang=en").text)
    assert second not in slot_ids(ivan.get("/cabinet/appointments?lang=en").text)
    page = maria.get(f"{link}?lang=en")
    declined = maria.post(f"{link}/decline", data={**form_fields(page.text), "reason": "no"})
    assert declined.status_code in (200, 303), declined.text
    drain(rt, limit=500)
    assert count(rt, SlotHold) == 0
    assert second in slot_ids(ivan.get("/cabinet/appointments?lang=en").text)
    assert count(rt, Appointment) == 0


def test_the_clinic_withdrawing_a_held_slot_tells_the_holder(
    client: TestClient, rt: Runtime, clock: FrozenClock, peer: OidcPeer
) -> None:
    headers = online_clinic(client, rt, peer, "TM-1", "TM-2")
    maria = patient(rt, headers, 1)
    link = consent_link(press_book(maria, slot_id(rt, "TM-1")).text)
    publish(client, headers, schedule(("TM-2", LATER), telemedicine=True))  # TM-1 withdrawn
    assert sign_through(maria, link).status_code == 303
    drain(rt, limit=500)
    assert "went to another patient" in maria.get("/cabinet/appointments?lang=en").text
    assert count(rt, Appointment) == 0 and count(rt, SlotHold) == 0


# -- races over real HTTP ------------------------------------------------------------------


def at_once(calls: list[Callable[[], object]]) -> list[object]:
    """Run ``calls`` in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def over_http(served: str, local: TestClient, slot: str) -> Callable[[], object]:
    jar, form = dict(local.cookies), hidden(local, "/cabinet/appointments?lang=en")

    def call() -> httpx.Response:
        with httpx.Client(base_url=served, timeout=60, cookies=jar) as http:
            return http.post(f"/cabinet/slots/{slot}/book", data=form)

    return call


def test_several_patients_press_book_on_one_online_slot_at_once(
    served: str, client: TestClient, rt: Runtime, peer: OidcPeer
) -> None:
    headers = online_clinic(client, rt, peer, "TM-1")
    slot = slot_id(rt, "TM-1")
    patients = [patient(rt, headers, n) for n in range(1, 6)]
    results = at_once([over_http(served, p, slot) for p in patients])
    answers = [r for r in results if isinstance(r, httpx.Response)]
    assert sorted(r.status_code for r in answers) == [200, 409, 409, 409, 409]
    assert all("held for another patient" in r.text for r in answers if r.status_code == 409)
    with rt.transaction() as session:
        [hold] = session.scalars(select(SlotHold)).all()
        assert hold.slot_id == slot
        # the losers wrote nothing: one consent envelope, the winner's
        consents = session.scalars(
            select(Envelope.id).where(Envelope.kind == "telemedicine_consent")
        )
        assert list(consents) == [hold.envelope_id]


def test_the_holders_booking_races_others_after_expiry(
    served: str, client: TestClient, rt: Runtime, clock: FrozenClock, peer: OidcPeer
) -> None:
    headers = online_clinic(client, rt, peer, "TM-1", "TM-2", "TM-3", "TM-4")
    slot = slot_id(rt, "TM-1")
    maria = patient(rt, headers, 1)
    others = [patient(rt, headers, n) for n in (2, 3, 4)]
    for other, own in zip(others, ("TM-2", "TM-3", "TM-4"), strict=True):
        # each has a signed consent (and a visit of their own), so "Book" books at once
        signed = sign_through(other, consent_link(press_book(other, slot_id(rt, own)).text))
        assert signed.status_code == 303
    drain(rt, limit=1000)
    link = consent_link(press_book(maria, slot).text)
    assert sign_through(maria, link).status_code == 303  # the follow-up job is queued
    clock.advance(minutes=16)  # ... and her hold expired meanwhile
    # (each session's last visit is written now, not inside the race: cabinet.service)
    assert maria.get("/cabinet?lang=en").status_code == 200
    racers: list[Callable[[], object]] = [over_http(served, o, slot) for o in others]
    racers.append(lambda: drain(rt, limit=50))  # the worker books her held slot
    jar = dict(maria.cookies)
    racers.append(  # so does her page, when she comes back
        lambda: httpx.get(f"{served}/cabinet/appointments?lang=en", cookies=jar, timeout=60)
    )
    results = at_once(racers)
    presses = [r for r in results[:3] if isinstance(r, httpx.Response)]
    assert all(r.status_code in (200, 409) for r in presses), [r.text[-300:] for r in presses]
    [created] = appointments_on(rt, "TM-1")  # never two appointments for one slot
    with rt.transaction() as session:
        taken = session.scalars(
            select(Appointment)
            .join(ScheduleSlot, ScheduleSlot.appointment_id == Appointment.id)
            .where(ScheduleSlot.id == slot)
        ).one()
        assert taken.mis_id == created["mis_id"]
        holder = session.scalars(select(Patient.id).where(Patient.mis_id == "P-1")).one()
    won = [r for r in presses if r.status_code == 200]
    raced_page = results[4]
    assert isinstance(raced_page, httpx.Response) and raced_page.status_code == 200
    told = raced_page.text + maria.get("/cabinet/appointments?lang=en").text
    if won:  # another patient was first: she is told, and the visit is theirs
        assert len(won) == 1 and taken.patient_id != holder
        assert "went to another patient" in told and "Booked:" not in told
    else:  # her booking was first: every press was refused
        assert taken.patient_id == holder
        assert "Booked: Консультация терапевта" in told
    assert count(rt, SlotHold) == 0
