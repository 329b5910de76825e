"""The clinician app (/app) in Chromium: the shell in en/ru/fa at 360 px, accessible,
installable (Chromium's own installability check) and controlled by its service
worker; a device that lost its key says so and shows the way back."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from tests.support.axe import assert_accessible
from tests.support.served import ServedStack


def open_app(page: Page, url: str) -> None:
    """Open ``url`` and wait until the app's script has started."""
    page.goto(url)
    expect(page.locator("body[data-ready]")).to_have_count(1)


def fits_the_screen(page: Page) -> bool:
    """Nothing is wider than the 360 px viewport (no sideways scrolling)."""
    return bool(page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth + 1"))


@pytest.mark.parametrize(
    ("lang", "direction", "heading"),
    [
        ("en", "ltr", "Clinician app"),
        ("ru", "ltr", "Приложение врача"),
        ("fa", "rtl", "برنامه پزشک"),
    ],
)
def test_the_shell_is_accessible_and_installable(
    served: ServedStack, page: Page, lang: str, direction: str, heading: str
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    open_app(page, f"{served.app.url}/app?lang={lang}")
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    assert page.evaluate("document.documentElement.dir") == direction
    expect(page.locator("#no-workplace")).to_be_visible()
    assert fits_the_screen(page)
    assert_accessible(page)
    # The service worker takes the page over; Chromium finds nothing against installing.
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    expect(page.locator("body[data-ready]")).to_have_count(1)
    assert page.evaluate("Boolean(navigator.serviceWorker.controller)")
    cdp = page.context.new_cdp_session(page)
    found = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # Playwright's contexts are off the record, where Chromium never installs apps.
    assert [e for e in found if e["errorId"] != "in-incognito"] == [], found
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == [] and manifest["url"].endswith(
        f"manifest.webmanifest?lang={lang}"
    )
    assert errors == []  # no CSP refusal, no script error


def test_a_device_that_lost_its_key_shows_the_way_back(served: ServedStack, page: Page) -> None:
    open_app(page, f"{served.app.url}/app?lang=en")
    marker = [{"device_id": "d-1", "label": "Dr Ivanova — Clinic One"}]
    page.evaluate(
        "m => localStorage.setItem('medsign.clinician.workplaces', m)", json.dumps(marker)
    )
    open_app(page, f"{served.app.url}/app?lang=en")
    lost = page.locator("#screen-lost")
    expect(lost).to_be_visible()
    expect(lost.get_by_role("heading")).to_have_text("This device lost its key")
    expect(lost).to_contain_text("Dr Ivanova — Clinic One")
    expect(lost).to_contain_text("Ask your clinic for a new invitation link")
    assert_accessible(page)
    lost.get_by_role("button", name="Remove this workplace").click()
    expect(lost).to_be_hidden()
    expect(page.locator("#no-workplace")).to_be_visible()
    assert page.evaluate("localStorage.getItem('medsign.clinician.workplaces')") == "[]"
