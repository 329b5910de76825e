"""The console's settings pages in Chromium at 1280 and 360 px against medsign served as
a real process: every settings page in en, ru and fa passes axe-core and fits the phone
screen with no CSP violation; an admin creates an API token (shown once) and revokes
it, adds a branch, tightens the policy. And two admins revoking one token at the same
moment (SQLite and PostgreSQL): one revocation, no 5xx."""

from __future__ import annotations

import threading

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, func, select

from medsign.audit.models import AuditEvent
from tests.e2e.test_console_browser import PHONE, SIZES, assert_fits, log_in, new_staff, watch_csp
from tests.support.axe import assert_accessible
from tests.support.console import csrf_of
from tests.support.served import ServedStack

pytestmark = pytest.mark.e2e

PAGES = (
    "/console/settings",
    "/console/settings/identity-providers",
    "/console/settings/webhooks",
    "/console/settings/tokens",
    "/console/settings/branches",
    "/console/settings/policy",
    "/console/settings/notifications",
    "/console/settings/seal",
    "/console/settings/usage",
)


@pytest.mark.parametrize("lang", ["en", "ru", "fa"])
@pytest.mark.parametrize("size", SIZES)
def test_every_settings_page_is_accessible(
    served: ServedStack, page: Page, lang: str, size: str
) -> None:
    page.set_viewport_size(SIZES[size])
    csp = watch_csp(page)
    app = served.app
    email, password = new_staff(app, "admin")
    log_in(page, app.url, email, password, lang)
    for path in PAGES:
        response = page.goto(f"{app.url}{path}")
        assert response is not None and response.status == 200, path
        expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "fa" else "ltr")
        expect(page.locator("nav.settings-nav a[aria-current=page]")).to_be_visible()
        assert_accessible(page)
        if size == "phone":
            assert_fits(page, PHONE)
    # A refusal on a form, and a secret shown once, are accessible too.
    page.goto(f"{app.url}/console/settings/branches")
    page.locator("#br-new").fill("   ")
    page.locator("form[action='/console/settings/branches'] button").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page)
    page.goto(f"{app.url}/console/settings/tokens")
    page.locator("#tok-name").fill(f"Axe token {lang} {size}")
    page.locator("form[action='/console/settings/tokens'] button").click()
    expect(page.locator("#new-token")).to_be_visible()
    assert_accessible(page)
    if size == "phone":
        assert_fits(page, PHONE)
    assert not csp, csp


@pytest.mark.parametrize("size", SIZES)
def test_an_admin_creates_and_revokes_a_token_adds_a_branch_and_tightens_the_policy(
    served: ServedStack, page: Page, size: str
) -> None:
    page.set_viewport_size(SIZES[size])
    csp = watch_csp(page)
    app = served.app
    email, password = new_staff(app, "admin")
    log_in(page, app.url, email, password)
    page.get_by_role("link", name="Settings").click()
    page.locator("nav.settings-nav").get_by_role("link", name="API tokens").click()
    name = f"Browser MIS {size}"
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create").click()
    token = page.locator("#new-token").inner_text()
    assert (
        httpx.get(
            f"{app.url}/api/v1/envelopes", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 200
    )
    page.goto(f"{app.url}/console/settings/tokens")
    expect(page.locator("#new-token")).to_have_count(0)
    page.get_by_role("button", name=f"Revoke: {name}").click()
    expect(page.locator("tr", has_text=name)).to_have_count(0)
    assert (
        httpx.get(
            f"{app.url}/api/v1/envelopes", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 401
    )
    page.locator("nav.settings-nav").get_by_role("link", name="Branches").click()
    branch = f"Branch {size}"
    page.locator("#br-new").fill(branch)
    page.get_by_role("button", name="Add").click()
    expect(page.locator(f"input[value='{branch}']")).to_be_visible()
    page.locator("nav.settings-nav").get_by_role("link", name="Signature policy").click()
    page.locator("#p-user_agreement-sms_otp").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#p-user_agreement-sms_otp")).not_to_be_checked()
    policy = httpx.get(f"{app.url}/api/v1/policy", headers=app.headers).json()
    assert "sms_otp" not in policy["overrides"]["user_agreement"]
    page.locator("#p-user_agreement-sms_otp").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#p-user_agreement-sms_otp")).to_be_checked()
    assert httpx.get(f"{app.url}/api/v1/policy", headers=app.headers).json()["overrides"] == {}
    assert not csp, csp


def revoke_at_once(clients: list[tuple[httpx.Client, str]], token_id: str) -> list[int]:
    """Every client presses "Revoke" on the token at the same moment; their statuses."""
    start = threading.Barrier(len(clients))
    codes: list[int] = []

    def revoke(client: httpx.Client, csrf: str) -> None:
        start.wait()
        res = client.post(f"/console/settings/tokens/{token_id}/revoke", data={"csrf": csrf})
        codes.append(res.status_code)

    threads = [threading.Thread(target=revoke, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return codes


def test_two_admins_revoking_one_token_at_once(served_each_db: ServedStack) -> None:
    app = served_each_db.app
    clients: list[tuple[httpx.Client, str]] = []
    for _ in range(2):
        email, password = new_staff(app, "admin")
        client = httpx.Client(base_url=app.url, timeout=60.0)
        form = client.get("/console/login")
        res = client.post(
            "/console/login",
            data={"email": email, "password": password, "csrf": csrf_of(form.text)},
        )
        assert res.status_code == 303, res.text
        clients.append((client, csrf_of(client.get("/console/settings/tokens").text)))
    engine = create_engine(app.database_url)
    try:
        for round_ in range(5):
            made = httpx.post(
                f"{app.url}/api/v1/tokens", headers=app.headers, json={"name": f"race {round_}"}
            )
            assert made.status_code == 201, made.text
            token_id = made.json()["id"]
            codes = revoke_at_once(clients, token_id)
            assert codes == [303, 303], (codes, app.output_tail())
            listed = httpx.get(f"{app.url}/api/v1/tokens", headers=app.headers).json()["items"]
            assert token_id not in {t["id"] for t in listed}
            with engine.connect() as conn:
                revocations = conn.scalar(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(
                        AuditEvent.action == "api_token.revoked",
                        AuditEvent.data["id"].as_string() == token_id,
                    )
                )
            assert revocations == 1
    finally:
        engine.dispose()
        for client, _csrf in clients:
            client.close()
