"""The patient cabinet on a phone-sized Chromium (360 px) against medsign served as a
real process: login by an SMS code, attach with the clinic's code, sign in the cabinet,
accept a user agreement, "Log out everywhere"; every page in en, ru and fa passes
axe-core. And the same attach code typed twice at once attaches once (SQLite and
PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import VIEWPORT
from tests.e2e.test_browser_signing import (
    MESSAGE_TIMEOUT,
    assert_no_horizontal_scroll,
    check_signed_pdf,
    code_in,
    new_phone,
    signer,
)
from tests.e2e.test_races import _at_once, _form
from tests.support.axe import assert_accessible
from tests.support.pdfs import make_pdf
from tests.support.served import ServedMedsign, ServedStack, add_org
from tests.support.sms_gateway import SmsGateway

pytestmark = pytest.mark.e2e

_NINE = re.compile(r"(?<!\d)(\d{9})(?!\d)")


def _card(app: ServedMedsign, headers: dict[str, str], mis_id: str, phone: str) -> None:
    res = app.http.post(
        "/api/v1/patients",
        headers=headers,
        json={
            "mis_id": mis_id,
            "name": "Иванова Мария Петровна",
            "birth_date": date(1990, 5, 17).isoformat(),
            "phone": phone,
        },
    )
    assert res.status_code in (200, 201), res.text


def _attach_code(app: ServedMedsign, headers: dict[str, str], mis_id: str) -> str:
    res = app.http.post(f"/api/v1/patients/{mis_id}/attach-code", headers=headers)
    assert res.status_code == 201, res.text
    body: dict[str, Any] = res.json()
    return str(body["code"])


def _login_code(sms: SmsGateway, phone: str, seen: int) -> str:
    """The 6-digit code of the first SMS to ``phone`` after the ``seen`` earlier ones."""

    def fresh(message: Any) -> bool:
        earlier = [m for m in sms.messages if m.to == phone]
        return (
            message.to == phone
            and code_in(message.text) is not None
            and earlier.index(message) >= seen
        )

    found = sms.wait_for(fresh, MESSAGE_TIMEOUT)
    code = code_in(found.text)
    assert code is not None
    return code


def _sent_to(sms: SmsGateway, phone: str) -> int:
    return len([m for m in sms.messages if m.to == phone])


def browser_login(
    page: Page, app: ServedMedsign, sms: SmsGateway, phone: str, lang: str = "en"
) -> None:
    """Open /cabinet, "Send code", type the SMS code, "Log in" (labels in English)."""
    seen = _sent_to(sms, phone)
    page.goto(f"{app.url}/cabinet?lang={lang}")
    page.get_by_label("Phone or email").fill(phone)
    page.get_by_role("button", name="Send code", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("We sent a code")
    page.get_by_label("Code", exact=True).fill(_login_code(sms, phone, seen))
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_text("Logged in as")).to_be_visible()


def test_login_attach_and_sign_in_the_cabinet(
    page: Page, served: ServedStack, tmp_path: Path
) -> None:
    app, sms = served.app, served.sms
    phone = new_phone()
    mis_id = f"CAB-{phone[-6:]}"
    _card(app, app.headers, mis_id, phone)
    code = _attach_code(app, app.headers, mis_id)
    attach_sms = sms.wait_for(lambda m: m.to == phone and code in m.text, MESSAGE_TIMEOUT)
    assert "/cabinet" in attach_sms.text
    doc = app.upload(make_pdf(pages=1), title="Cabinet rules")
    app.create_envelope(doc["id"], signer("Мария", "cabinet", phone=phone, patient_mis_id=mis_id))

    page.goto(f"{app.url}/cabinet?lang=en")
    assert_no_horizontal_scroll(page)
    assert_accessible(page)
    code_input = page.get_by_label("Code", exact=True)
    expect(code_input).to_have_attribute("autocomplete", "one-time-code")
    expect(code_input).to_have_attribute("inputmode", "numeric")
    browser_login(page, app, sms, phone)
    expect(page.get_by_text("You are not attached to any clinic yet")).to_be_visible()

    page.get_by_label("Attach code").fill("123456789" if code != "123456789" else "987654321")
    page.get_by_role("button", name="Attach", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("not right")
    page.get_by_label("Attach code").fill(code)
    page.get_by_role("button", name="Attach", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("You are attached to Clinic One")
    expect(page.get_by_text("Cabinet rules")).to_be_visible()
    assert_no_horizontal_scroll(page)
    assert_accessible(page)

    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_text("Signed", exact=True)).to_be_visible()
    download = page.get_by_role("link", name="Download the signed PDF", exact=True)
    expect(download).to_be_visible(timeout=60_000)  # the page reloads until it is sealed
    assert_accessible(page)
    with page.expect_download(timeout=30_000) as info:
        download.click()
    target = tmp_path / "signed.pdf"
    info.value.save_as(target)
    check_signed_pdf(app, target.read_bytes(), tmp_path, signatures=1)


def org_with_agreement(app: ServedMedsign, name: str, *, pages: int) -> tuple[str, dict[str, str]]:
    """An organization of its own (its agreement must not stand before other tests'
    cards) whose cabinet shows a user agreement of ``pages`` pages; (id, API headers)."""
    org_id, token = add_org(app, name)
    headers = {"Authorization": f"Bearer {token}"}
    up = app.http.post(
        "/api/v1/documents",
        headers=headers,
        files={"files": ("terms.pdf", make_pdf(pages=pages), "application/pdf")},
        data={"title": "Terms of the cabinet", "kind": "user_agreement"},
    )
    assert up.status_code == 201, up.text
    res = app.http.put(
        "/api/v1/cabinet/settings",
        headers=headers,
        json={"user_agreement_document_id": up.json()["id"]},
    )
    assert res.status_code == 200, res.text
    return org_id, headers


def test_first_login_accepts_the_user_agreement(page: Page, served: ServedStack) -> None:
    app, sms = served.app, served.sms
    _, headers = org_with_agreement(app, "Clinic Terms", pages=1)
    phone = new_phone()
    _card(app, headers, "TERMS-1", phone)
    browser_login(page, app, sms, phone)
    expect(page.get_by_role("heading", name="Clinic Terms: user agreement")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Accept", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(
        "the agreement with Clinic Terms is accepted"
    )
    expect(page.get_by_role("button", name="Accept", exact=True)).to_have_count(0)
    # the signed agreement reaches the MIS: the envelope completes with a cabinet signature
    for _ in range(100):
        listed = app.http.get(
            "/api/v1/envelopes", headers=headers, params={"patient_mis_id": "TERMS-1"}
        ).json()
        items = listed["items"]
        if items and items[0]["status"] == "completed":
            break
        page.wait_for_timeout(200)
    assert items and items[0]["status"] == "completed", listed
    assert items[0]["signers"][0]["method"] == "cabinet"


def test_log_out_everywhere(browser: Browser, served: ServedStack) -> None:
    app, sms = served.app, served.sms
    phone = new_phone()
    phones = [browser.new_context(viewport=VIEWPORT) for _ in range(2)]
    try:
        first, second = (c.new_page() for c in phones)
        browser_login(first, app, sms, phone)
        browser_login(second, app, sms, phone)  # a second device, same phone
        second.get_by_role("link", name="Devices").click()
        devices = second.get_by_role("button", name=re.compile(r"^Log out: "))
        expect(devices).to_have_count(2)  # one per device (the menu has its own)
        assert_accessible(second)
        second.get_by_role("button", name="Log out everywhere").click()
        expect(second.get_by_text("You are logged out.")).to_be_visible()
        first.reload()
        expect(first.get_by_role("button", name="Log in", exact=True)).to_be_visible()
    finally:
        for context in phones:
            context.close()


@pytest.mark.parametrize("lang", ["en", "ru", "fa"])
def test_cabinet_pages_in_every_language(page: Page, served: ServedStack, lang: str) -> None:
    app, sms = served.app, served.sms
    page.goto(f"{app.url}/cabinet?lang={lang}")
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "fa" else "ltr")
    assert_no_horizontal_scroll(page)
    assert_accessible(page)
    phone = new_phone()
    mis_id = f"LANG-{phone[-6:]}"
    _card(app, app.headers, mis_id, phone)
    code = _attach_code(app, app.headers, mis_id)
    browser_login(page, app, sms, phone)
    page.locator("#attach-code").fill(code)
    page.locator("#attach-form button").click()
    for path in ("/cabinet", "/cabinet/files", "/cabinet/devices"):
        page.goto(f"{app.url}{path}?lang={lang}")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        assert_no_horizontal_scroll(page)
        assert_accessible(page)
    # light: no PDF viewer on the list pages
    assert page.evaluate("[...document.scripts].length") == 0


def _http_login(app: ServedMedsign, sms: SmsGateway, phone: str) -> httpx.Client:
    tab = httpx.Client(base_url=app.url, timeout=30)
    form = _form(tab, "/cabinet?lang=en")
    seen = _sent_to(sms, phone)
    assert tab.post("/cabinet/code", data={**form, "contact": phone}).status_code == 200
    code = _login_code(sms, phone, seen)
    res = tab.post("/cabinet/login", data={**form, "contact": phone, "code": code})
    assert res.status_code == 303, res.text
    return tab


def _press(tab: httpx.Client, form: dict[str, str], code: str) -> Callable[[], httpx.Response]:
    return lambda: tab.post("/cabinet/attach", data={**form, "code": code})


def test_the_same_attach_code_typed_twice_at_once_attaches_once(
    served_each_db: ServedStack,
) -> None:
    app, sms = served_each_db.app, served_each_db.sms
    phone = new_phone()
    mis_id = f"RACE-{phone[-6:]}"
    _card(app, app.headers, mis_id, phone)
    code = _attach_code(app, app.headers, mis_id)
    tabs = [_http_login(app, sms, phone), _http_login(app, sms, new_phone())]
    tabs.append(httpx.Client(base_url=app.url, timeout=30, cookies=tabs[0].cookies))
    try:
        forms = [_form(tab, "/cabinet?lang=en") for tab in tabs]
        presses = _at_once([_press(tab, form, code) for tab, form in zip(tabs, forms, strict=True)])
        statuses = sorted(r.status_code for r in presses)
        assert statuses.count(200) == 1, [(r.status_code, r.text[-600:]) for r in presses]
        assert all(s == 409 for s in statuses if s != 200), statuses
        attached = ["You are attached to" in r.text for r in presses]
        assert attached.count(True) == 1
        homes = [tab.get("/cabinet?lang=en").text for tab in tabs[:2]]
        assert sum("Clinic One</span>" in h for h in homes) == 1
    finally:
        for tab in tabs:
            tab.close()


# Slow 3G as emulated here: 400 ms round trip, 400 kbit/s each way (DESIGN.md "Patient
# pages": first paint within 1.5 s, under 200 KB).
SLOW_3G = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400 * 1000 / 8,
    "uploadThroughput": 400 * 1000 / 8,
}


def _first_paint(page: Page, url: str) -> tuple[float, int]:
    """Open ``url`` on slow 3G; (first contentful paint in ms, bytes transferred)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    page.goto(url)
    page.wait_for_load_state("load")
    for _ in range(150):  # polled from here: wait_for_function would need 'unsafe-eval'
        if page.evaluate("performance.getEntriesByName('first-contentful-paint').length"):
            break
        page.wait_for_timeout(100)
    fcp = float(
        page.evaluate("performance.getEntriesByName('first-contentful-paint')[0].startTime")
    )
    weight = int(
        page.evaluate(
            "performance.getEntriesByType('navigation')[0].transferSize +"
            " performance.getEntriesByType('resource').reduce((n, r) => n + r.transferSize, 0)"
        )
    )
    cdp.send(
        "Network.emulateNetworkConditions",
        {**SLOW_3G, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    cdp.detach()
    return fcp, weight


def test_cabinet_paints_fast_on_slow_3g(page: Page, served: ServedStack) -> None:
    app, sms = served.app, served.sms
    fcp, weight = _first_paint(page, f"{app.url}/cabinet?lang=ru")
    print(f"slow 3G, login page: first contentful paint {fcp:.0f} ms, {weight} bytes")
    assert fcp <= 1500 and weight < 200_000
    phone = new_phone()
    mis_id = f"FAST-{phone[-6:]}"
    _card(app, app.headers, mis_id, phone)
    code = _attach_code(app, app.headers, mis_id)
    browser_login(page, app, sms, phone)
    page.locator("#attach-code").fill(code)
    page.locator("#attach-form button").click()
    expect(page.get_by_role("status")).to_contain_text("Clinic One")
    fcp, weight = _first_paint(page, f"{app.url}/cabinet?lang=ru")
    print(f"slow 3G, cabinet home: first contentful paint {fcp:.0f} ms, {weight} bytes")
    assert fcp <= 1500 and weight < 200_000
