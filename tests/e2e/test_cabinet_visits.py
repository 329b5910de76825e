"""Appointments in the cabinet on a phone-sized Chromium (360 px) against medsign served
as a real process: the MIS publishes a schedule, the patient books a free slot, then
cancels it giving a "Reason"; the MIS's webhook receiver (a real HTTP server) gets
``appointment.cancelled`` with ``data.mis_id`` and ``data.reason``. An online visit is
held while the patient signs the telemedicine consent through a real OpenID Connect
provider (panva's oidc-provider on Node 22) and booked by that signature. Every
appointments page in en, ru and fa passes axe-core without horizontal scrolling."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_browser_signing import assert_no_horizontal_scroll, new_phone
from tests.e2e.test_cabinet import browser_login
from tests.support import oidc_node
from tests.support.axe import assert_accessible
from tests.support.oidc_node import NodeOidcProvider
from tests.support.pdfs import make_pdf
from tests.support.served import ServedStack, add_org
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e


def _clinic(served: ServedStack, name: str, time_zone: str) -> dict[str, str]:
    """An organization of its own (its schedule must not mix with other tests')."""
    app = served.app
    _, token = add_org(app, name)
    headers = {"Authorization": f"Bearer {token}"}
    res = app.http.patch(
        "/api/v1/organization/settings", headers=headers, json={"time_zone": time_zone}
    )
    assert res.status_code == 200, res.text
    return headers


def _attached_patient(
    page: Page, served: ServedStack, headers: dict[str, str], birth_date: str = "1990-05-17"
) -> str:
    app = served.app
    phone = new_phone()
    mis_id = f"VIS-{phone[-6:]}"
    card = {"mis_id": mis_id, "name": "Иванова Мария Петровна", "birth_date": birth_date}
    res = app.http.post("/api/v1/patients", headers=headers, json={**card, "phone": phone})
    assert res.status_code in (200, 201), res.text
    code = app.http.post(f"/api/v1/patients/{mis_id}/attach-code", headers=headers).json()["code"]
    browser_login(page, app, served.sms, phone)
    page.locator("#attach-code").fill(code)
    page.locator("#attach-form button").click()
    expect(page.get_by_role("status")).to_be_visible()
    return mis_id


def _publish(
    served: ServedStack, headers: dict[str, str], slots: dict[str, str], online: bool = False
) -> None:
    body: dict[str, Any] = {
        "doctors": [{"mis_id": "D-7", "name": "Dr Petrov", "specialty": "GP"}],
        "services": [{"mis_id": "S-1", "name": "GP consultation", "telemedicine": online}],
        "slots": [
            {"mis_id": m, "doctor_mis_id": "D-7", "service_mis_id": "S-1", "starts_at": s}
            for m, s in slots.items()
        ],
    }
    res = served.app.http.put("/api/v1/schedule", headers=headers, json=body)
    assert res.status_code == 200, res.text


def test_book_then_cancel_with_a_reason_reaches_the_mis(page: Page, served: ServedStack) -> None:
    headers = _clinic(served, "Clinic Visits", "Europe/Moscow")
    _publish(served, headers, {"SL-1": "2030-06-03T07:30:00Z", "SL-2": "2030-06-03T08:00:00Z"})
    with WebhookReceiver() as mis:
        res = served.app.http.post(
            "/api/v1/webhooks",
            headers=headers,
            json={"url": mis.url, "events": ["appointment.created", "appointment.cancelled"]},
        )
        assert res.status_code == 201, res.text
        mis.secrets.append(res.json()["secret"])
        _attached_patient(page, served, headers)
        page.get_by_role("link", name="Appointments", exact=True).click()
        expect(page.get_by_text("You have no appointments yet.")).to_be_visible()
        expect(page.get_by_text("2030-06-03 10:30 +03:00")).to_be_visible()  # Moscow time
        assert_no_horizontal_scroll(page)
        assert_accessible(page)
        page.get_by_role(
            "button", name=re.compile(r"^Book: GP consultation, Dr Petrov, 2030-06-03 10:30")
        ).click()
        expect(page.get_by_role("status")).to_contain_text("Booked: GP consultation")
        visits = page.locator("#visits")
        expect(visits.get_by_text("Dr Petrov")).to_be_visible()
        expect(visits.get_by_text("Upcoming")).to_be_visible()
        booked = mis.wait_for(1)[0]
        assert booked.type == "appointment.created"
        assert booked.body["data"]["slot_mis_id"] == "SL-1"

        page.get_by_role("button", name="Cancel appointment", exact=True).click()
        assert_no_horizontal_scroll(page)
        assert_accessible(page)
        reason = page.get_by_label("Reason", exact=True)
        expect(reason).to_be_visible()
        reason.fill("I have to work that day")
        page.get_by_role("button", name="Cancel appointment", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("The appointment is cancelled")
        expect(page.locator("#visits").get_by_text("Cancelled")).to_be_visible()
        expect(page.get_by_text("Reason: I have to work that day")).to_be_visible()
        expect(page.get_by_role("button", name="Cancel appointment")).to_have_count(0)
        assert_accessible(page)
        received = mis.wait_for(2)
    cancelled = received[1]
    assert cancelled.type == "appointment.cancelled"
    assert cancelled.body["data"]["mis_id"] == booked.body["data"]["mis_id"]
    assert cancelled.body["data"]["reason"] == "I have to work that day"
    # the slot is free again: a second patient's page offers it
    expect(page.get_by_role("button", name=re.compile(r"^Book: .*10:30"))).to_have_count(1)


@pytest.mark.parametrize("lang", ["en", "ru", "fa"])
def test_appointments_pages_in_every_language(page: Page, served: ServedStack, lang: str) -> None:
    headers = _clinic(served, f"Clinic Visits {lang}", "Asia/Tehran")
    _publish(served, headers, {"SL-1": "2030-06-03T07:30:00Z"})
    _attached_patient(page, served, headers)
    page.goto(f"{served.app.url}/cabinet/appointments?lang={lang}")
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "fa" else "ltr")
    expect(page.get_by_text("2030-06-03 11:00 +03:30")).to_be_visible()  # Tehran time
    assert_no_horizontal_scroll(page)
    assert_accessible(page)
    page.locator("#slots button").first.click()
    expect(page.get_by_role("status")).to_be_visible()
    page.locator("#visits button").first.click()
    expect(page.locator("#reason")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", lang)
    assert_no_horizontal_scroll(page)
    assert_accessible(page)
    assert page.evaluate("[...document.scripts].length") == 0


@pytest.mark.skipif(
    not oidc_node.available(), reason="run scripts/install-node.sh (Node 22, oidc-provider)"
)
def test_an_online_visit_after_signing_the_consent_at_the_provider(
    page: Page, browser: Browser, served: ServedStack, tmp_path: Path
) -> None:
    app = served.app
    headers = _clinic(served, "Clinic Online", "Europe/Moscow")
    with NodeOidcProvider(f"{app.url}/idp/callback/", tmp_path / "oidc.log") as op:
        res = app.http.post(
            "/api/v1/identity-providers",
            headers=headers,
            json={
                "name": "Test ID",
                "issuer": op.issuer,
                "client_id": op.client_id,
                "client_secret": op.client_secret,
                "scopes": ["openid", "profile"],
            },
        )
        assert res.status_code == 201, res.text
        up = app.http.post(
            "/api/v1/documents",
            headers=headers,
            files={"files": ("consent.pdf", make_pdf(pages=1), "application/pdf")},
            data={"title": "Telemedicine consent", "kind": "telemedicine_consent"},
        )
        assert up.status_code == 201, up.text
        settings = {
            "consent_document_id": up.json()["id"],
            "identity_provider_id": res.json()["id"],
        }
        res = app.http.put("/api/v1/schedule/telemedicine", headers=headers, json=settings)
        assert res.status_code == 200, res.text
        _publish(served, headers, {"TM-1": "2030-06-03T07:30:00Z"}, online=True)
        mis_id = _attached_patient(page, served, headers, birth_date="1990-04-12")

        page.get_by_role("link", name="Appointments", exact=True).click()
        expect(page.get_by_text("Online visit")).to_be_visible()
        page.get_by_role("button", name=re.compile(r"^Book: ")).click()
        expect(
            page.get_by_role("heading", name="Online visit: confirm who you are")
        ).to_be_visible()
        expect(page.get_by_text("This time is held for you until")).to_be_visible()
        assert_no_horizontal_scroll(page)
        assert_accessible(page)
        # while she signs, the slot is hers: another patient's list does not offer it
        other = browser.new_context(viewport={"width": 360, "height": 740})
        other.set_default_timeout(15_000)
        try:
            stranger = other.new_page()
            _attached_patient(stranger, served, headers)
            stranger.goto(f"{app.url}/cabinet/appointments?lang=en")
            expect(stranger.get_by_text("No free times are published yet.")).to_be_visible()
        finally:
            other.close()
        page.get_by_role("link", name="Sign the telemedicine consent").click()
        page.get_by_role("button", name="Sign with Test ID").click()
        page.locator('input[name="login"]').fill("maria")
        page.locator('input[name="password"]').fill("any password")
        page.get_by_role("button", name="Sign-in").click()
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_text("Signed", exact=True).first).to_be_visible()

    # back in the cabinet the visit is booked, without pressing "Book" again
    page.goto(f"{app.url}/cabinet/appointments?lang=en")
    expect(page.get_by_role("status")).to_contain_text("Booked: GP consultation")
    expect(page.locator("#visits").get_by_text("Online visit")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Book: "))).to_have_count(0)
    assert_accessible(page)
    # the MIS sees the signed consent (method idp) and the online appointment
    listed = app.http.get(
        "/api/v1/envelopes", headers=headers, params={"patient_mis_id": mis_id}
    ).json()["items"]
    assert listed and listed[0]["signers"][0]["method"] == "idp"
    visits = app.http.get(
        "/api/v1/appointments", headers=headers, params={"patient_mis_id": mis_id}
    ).json()["items"]
    assert [v["telemedicine"] for v in visits] == [True]


@pytest.mark.parametrize("lang", ["en", "ru", "fa"])
def test_the_pre_visit_invite_form(page: Page, served: ServedStack, lang: str) -> None:
    app = served.app
    res = app.http.post("/api/v1/invites", headers=app.headers, json={})
    assert res.status_code == 201, res.text
    invite = res.json()
    page.goto(f"{invite['url']}?lang={lang}")
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "fa" else "ltr")
    assert_no_horizontal_scroll(page)
    assert_accessible(page)
    page.locator("#name").fill("Иванова Мария Петровна")
    page.locator("#birth_date").fill("1990-05-17")
    page.locator("#contact").fill(new_phone())
    page.locator("#invite-form button").click()  # the consent is not ticked: the browser asks
    assert page.locator("#consent").evaluate("box => box.validity.valid") is False
    assert page.url.split("?")[0] == invite["url"]  # nothing was sent
    page.locator("#consent").check()
    page.locator("#invite-form button").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_accessible(page)
    read = app.http.get(f"/api/v1/invites/{invite['id']}", headers=app.headers).json()
    assert read["status"] == "completed" and read["patient_mis_id"]
    if lang == "en":
        expect(page.get_by_text("has your card")).to_be_visible()
        pdf = app.http.get(f"/api/v1/invites/{invite['id']}/edo-agreement.pdf", headers=app.headers)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")


def test_a_record_request_round_trip(page: Page, served: ServedStack, tmp_path: Path) -> None:
    app = served.app
    headers = _clinic(served, "Clinic Records", "Europe/Moscow")
    _attached_patient(page, served, headers)
    page.get_by_role("link", name="Records", exact=True).click()
    assert_no_horizontal_scroll(page)
    assert_accessible(page)
    page.get_by_label("Which records").fill("Blood tests")
    page.get_by_label("From").fill("2026-01-01")
    page.get_by_label("To", exact=True).fill("2026-06-30")
    page.get_by_label("Delivery").select_option("cabinet")
    page.get_by_role("button", name="Request copies").click()
    expect(page.get_by_role("status")).to_contain_text("The clinic must answer by")
    items = app.http.get("/api/v1/record-requests", headers=headers).json()["items"]
    [item] = items
    assert item["what"] == "Blood tests" and item["overdue"] is False
    res = app.http.post(
        f"/api/v1/record-requests/{item['id']}/records",
        headers=headers,
        files={"files": ("records.pdf", make_pdf(pages=1), "application/pdf")},
        data={"staff_name": "Petrova A. V."},
    )
    assert res.status_code == 200, res.text
    page.reload()
    expect(page.get_by_text("Issued", exact=True)).to_be_visible()
    assert_accessible(page)
    with page.expect_download(timeout=30_000) as info:
        page.get_by_role("link", name="Download the sealed copy").click()
    target = tmp_path / "records.pdf"
    info.value.save_as(target)
    assert target.read_bytes().startswith(b"%PDF-")
    assert target.read_bytes().count(b"/ByteRange") == 1  # the clinic's seal
    page.get_by_role("link", name="Blood tests").click()  # the copy in the document viewer
    expect(page.locator("#viewer")).to_have_attribute("data-rendered", "1")
    assert_no_horizontal_scroll(page)
    assert_accessible(page)
    for lang in ("ru", "fa"):
        for path in ("/cabinet/records", f"/cabinet/records/{item['id']}"):
            page.goto(f"{app.url}{path}?lang={lang}")
            assert_no_horizontal_scroll(page)
            assert_accessible(page)
        expect(page.locator("#viewer img.page")).to_have_count(1)
