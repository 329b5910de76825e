"""Web Push in Chromium against medsign served as a real process: the cabinet's
"Notifications on this device" subscribes, a document is pushed, the browser's service
worker shows it and posts the receipt that marks it delivered; turning it off sends the
next one by SMS (issue [notify] point 1).

Headless Chromium has no push service to subscribe with (``pushManager.subscribe``
answers "Registration failed - permission denied"), so the page's Push API is given a
subscription that a loopback push service issued (``PushManager.prototype.subscribe``
and ``getSubscription`` replaced by an init script): everything else is real. medsign
encrypts and VAPID-signs the push to that service, which checks and decrypts it; the
decrypted message is then delivered to the page's real service worker through the
DevTools protocol (``ServiceWorker.deliverPushMessage``), which shows the notification
and posts the receipt back to medsign.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import VIEWPORT
from tests.e2e.test_browser_signing import MESSAGE_TIMEOUT, new_phone, signer
from tests.e2e.test_cabinet import _attach_code, _card, browser_login
from tests.e2e.test_clinician_app import open_app
from tests.e2e.test_clinician_device_flow import enroll, prescription
from tests.support.axe import assert_accessible
from tests.support.pdfs import make_pdf
from tests.support.push_service import PushReceived, PushService
from tests.support.served import ServedMedsign, ServedStack, add_org, serve_with_peers

pytestmark = pytest.mark.e2e

# The page's Push API, answering with the loopback service's subscription (kept for
# the tab's life, like a browser's; the key the page subscribed with is kept to check).
FAKE_PUSH = """
(() => {
  const sub = %s;
  const make = () => ({
    endpoint: sub.endpoint, expirationTime: null, options: {},
    toJSON: () => sub,
    unsubscribe: async () => { sessionStorage.removeItem("fake-push"); return true; },
  });
  PushManager.prototype.subscribe = async function (options) {
    sessionStorage.setItem("fake-push", String(options.applicationServerKey));
    return make();
  };
  PushManager.prototype.getSubscription = async function () {
    return sessionStorage.getItem("fake-push") === null ? null : make();
  };
})();
"""


@pytest.fixture
def push() -> Iterator[PushService]:
    with PushService() as service:
        yield service


@pytest.fixture(scope="module")
def on_localhost(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedMedsign]:
    """medsign on http://localhost:PORT (WebAuthn wants a domain; the app uses it)."""
    with serve_with_peers(
        tmp_path_factory.mktemp("push-app"), "sqlite", public_host="localhost"
    ) as stack:
        yield stack.app


def wait(check: Callable[[], Any], what: str, timeout: float = MESSAGE_TIMEOUT) -> Any:
    """Poll ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.1)


def deliver(page: Page, scope_path: str, got: PushReceived) -> None:
    """Hand the decrypted push message to the page's service worker of ``scope_path``
    (DevTools protocol, ServiceWorker domain)."""
    cdp = page.context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    origin = page.evaluate("location.origin")

    def found() -> str | None:
        page.wait_for_timeout(100)  # lets Playwright dispatch the protocol's events
        return next(
            (
                r["registrationId"]
                for r in registrations
                if r["scopeURL"] == f"{origin}{scope_path}" and not r["isDeleted"]
            ),
            None,
        )

    registration = wait(found, "service worker registration")
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": origin, "registrationId": registration, "data": json.dumps(got.payload)},
    )


def send(app: ServedMedsign, headers: dict[str, str], mis_id: str, title: str) -> None:
    """A user agreement for the patient to sign in the cabinet, from ``headers``' clinic."""
    res = app.http.post(
        "/api/v1/documents",
        headers=headers,
        files={"files": ("document.pdf", make_pdf(pages=1), "application/pdf")},
        data={"title": title, "kind": "user_agreement"},
    )
    assert res.status_code == 201, res.text
    body = {
        "document_id": res.json()["id"],
        "signers": [signer("Мария", "cabinet", patient_mis_id=mis_id)],
    }
    res = app.http.post("/api/v1/envelopes", headers=headers, json=body)
    assert res.status_code == 201, res.text


def statuses(app: ServedMedsign, headers: dict[str, str]) -> list[str]:
    res = app.http.get("/api/v1/notifications", headers=headers)
    assert res.status_code == 200, res.text
    return [m["status"] for m in res.json()["items"] if m["event"] == "envelope.invite"]


def test_the_cabinet_subscribes_and_the_worker_receipts(
    browser: Browser, served: ServedStack, push: PushService
) -> None:
    app, sms = served.app, served.sms
    _, token = add_org(app, "Clinic Push")
    headers = {"Authorization": f"Bearer {token}"}
    res = app.http.put(
        "/api/v1/notification-channels", headers=headers, json={"channels": ["push", "sms"]}
    )
    assert res.status_code == 200, res.text
    phone = new_phone()
    mis_id = f"PUSH-{phone[-6:]}"
    _card(app, headers, mis_id, phone)
    code = _attach_code(app, headers, mis_id)

    context = browser.new_context(viewport=VIEWPORT)
    context.grant_permissions(["notifications"], origin=app.url)
    subscription = push.subscribe()
    context.add_init_script(FAKE_PUSH % json.dumps(subscription))
    page = context.new_page()
    try:
        browser_login(page, app, sms, phone)
        page.get_by_label("Attach code").fill(code)
        page.get_by_role("button", name="Attach", exact=True).click()
        section = page.get_by_role("region", name="Notifications on this device")
        expect(section).to_be_visible()
        expect(section.locator("#push-status")).to_have_text(
            "Notifications are off for this device."
        )
        section.get_by_role("button", name="Turn on notifications").click()
        expect(section.locator("#push-status")).to_have_text(
            "Notifications are on for this device."
        )
        assert_accessible(page)
        key = app.http.get("/api/v1/push/vapid-public-key", headers=headers).json()
        assert page.evaluate("sessionStorage.getItem('fake-push')") == key["public_key"]

        send(app, headers, mis_id, "Push rules")
        got = wait(lambda: push.received[:1], "push message")[0]
        assert push.errors == []
        assert got.payload["title"].endswith("Push rules")
        assert "/cabinet/documents/" in got.payload["url"]
        assert statuses(app, headers) == ["sent"]
        deliver(page, "/static/", got)
        wait(lambda: statuses(app, headers) == ["delivered"], "receipt")
        (worker,) = [w for w in context.service_workers if w.url.endswith("/static/push-sw.js")]
        shown = worker.evaluate(
            "self.registration.getNotifications().then(n => n.map(x => [x.title, x.data.url]))"
        )
        assert shown == [[got.payload["title"], got.payload["url"]]]
        assert not [m for m in sms.messages if m.to == phone and "Push rules" in m.text]

        # Off: the next document goes by SMS.
        page.reload()
        section.get_by_role("button", name="Turn off notifications").click()
        expect(section.locator("#push-status")).to_have_text(
            "Notifications are off for this device."
        )
        send(app, headers, mis_id, "After push")
        sms.wait_for(lambda m: m.to == phone and "After push" in m.text, MESSAGE_TIMEOUT)
        assert len(push.received) == 1
    finally:
        context.close()


@pytest.mark.parametrize(
    ("lang", "heading"), [("ru", "Уведомления на этом устройстве"), ("fa", "اعلان‌ها در این دستگاه")]
)
def test_the_switch_in_every_language(
    browser: Browser, served: ServedStack, lang: str, heading: str
) -> None:
    app, sms = served.app, served.sms
    phone = new_phone()
    context = browser.new_context(viewport=VIEWPORT)
    page: Page = context.new_page()
    try:
        browser_login(page, app, sms, phone)
        page.goto(f"{app.url}/cabinet?lang={lang}")
        section = page.get_by_role("region", name=heading)
        expect(section).to_be_visible()
        expect(section.locator("#push-status")).not_to_be_empty()
        assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth + 1")
        assert_accessible(page)
    finally:
        context.close()


def test_the_clinician_app_subscribes_and_opens_the_request(
    browser: Browser, on_localhost: ServedMedsign, push: PushService
) -> None:
    app = on_localhost
    context = browser.new_context(viewport=VIEWPORT)
    context.grant_permissions(["notifications"], origin=app.url)
    subscription = push.subscribe()
    context.add_init_script(FAKE_PUSH % json.dumps(subscription))
    page = context.new_page()
    try:
        invited = enroll(page, app)
        switch = page.locator("#screen-push")
        expect(switch).to_be_visible()
        expect(switch.locator("#push-status")).to_have_text(
            "Notifications are off: new requests appear while the app is open."
        )
        switch.get_by_role("button", name="Turn on notifications").click()
        expect(switch.locator("#push-status")).to_have_text(
            "Notifications are on: new requests are announced even when the app is closed."
        )
        assert_accessible(page)

        prescription(app, invited["id"], "Rx pushed")
        got = wait(lambda: push.received[:1], "push message")[0]
        assert push.errors == []
        expect(page.locator("#requests li")).to_have_count(1)  # the event stream too
        request_id = page.locator("#requests li").get_attribute("data-id")
        # In the clinician's language (ru unless the invitation said otherwise).
        assert got.payload["url"] == f"{app.url}/app?lang=ru#request={request_id}"
        assert got.payload["body"] == "Clinic One просит подписать «Rx pushed»."

        def delivered() -> bool:
            res = app.http.get("/api/v1/notifications", headers=app.headers)
            items = [m for m in res.json()["items"] if m["event"] == "device.request"]
            return [m["status"] for m in items] == ["delivered"]

        deliver(page, "/app", got)
        wait(delivered, "receipt")
        (worker,) = [w for w in context.service_workers if w.url.endswith("/app/sw.js")]
        shown = worker.evaluate(
            "self.registration.getNotifications().then(n => n.map(x => x.data.url))"
        )
        assert shown == [got.payload["url"]]
        # Where the click leads: the app on that request, focused.
        open_app(page, got.payload["url"])
        card = page.locator(f"#requests li[data-id='{request_id}']")
        expect(card).to_have_class(re.compile(r"\bwanted\b"))
        expect(card.get_by_role("button", name="Подписать", exact=True)).to_be_focused()

        switch.get_by_role("button", name="Выключить уведомления").click()  # now in Russian
        expect(switch.locator("#push-status")).to_have_text(
            "Уведомления выключены: новые запросы появляются, пока приложение открыто."
        )
        prescription(app, invited["id"], "Rx not pushed")
        expect(page.locator("#requests li")).to_have_count(2)
        time.sleep(2)  # the worker had its chance
        assert len(push.received) == 1
    finally:
        context.close()
