"""Branding and document templates in Chromium at 1280 and 360 px against medsign
served as a real process (docs/branding.md, docs/templates.md): the console's Branding
page (axe-core in en, ru and fa; a pale colour refused with the reason), the signing
page then showing the organization's logo and its primary colour on the buttons; the
Document templates pages, filled and sent; no CSP violation."""

from __future__ import annotations

import itertools
import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_console_browser import (
    PHONE,
    SIZES,
    assert_fits,
    log_in,
    new_staff,
    watch_csp,
)
from tests.support.axe import assert_accessible
from tests.support.forms import form_pdf
from tests.support.logos import image_bytes
from tests.support.pdfs import make_pdf
from tests.support.served import ServedStack, add_org

pytestmark = pytest.mark.e2e
_serial = itertools.count(1)
SAVED = {"en": "Saved.", "ru": "Сохранено.", "fa": "ذخیره شد."}


def org_admin(stack: ServedStack) -> tuple[str, str, str, str]:
    """A fresh organization (so no other test sees its brand) and an admin of it;
    returns (organization_id, token, email, password)."""
    app = stack.app
    org_id, token = add_org(app, f"Clinic Aurora {next(_serial)}")
    email, password = new_staff(app, "admin", org_id)
    return org_id, token, email, password


@pytest.mark.parametrize("lang", ["en", "ru", "fa"])
@pytest.mark.parametrize("size", SIZES)
def test_branding_page_and_the_branded_signing_page(
    served: ServedStack, page: Page, size: str, lang: str, tmp_path: object
) -> None:
    page.set_viewport_size(SIZES[size])
    csp = watch_csp(page)
    app = served.app
    org_id, token, email, password = org_admin(served)
    log_in(page, app.url, email, password, lang)
    page.goto(f"{app.url}/console/branding")
    assert_accessible(page)
    if size == "phone":
        assert_fits(page, PHONE)
    # A pale colour is refused, with the reason, and the form keeps what was typed.
    page.locator("#brand-primary").fill("#99ccff")
    page.locator("form[action='/console/branding'] button[type=submit]").click()
    expect(page.get_by_role("alert")).to_contain_text("4.5:1")
    expect(page.locator("#brand-primary")).to_have_value("#99ccff")
    assert_accessible(page)
    # A good brand is saved and shown at once.
    page.locator("#brand-primary").fill("#7a1f5c")
    page.locator("#brand-accent").fill("#1a4d2e")
    page.locator("#brand-sender").fill("Aurora")
    page.locator("#brand-logo").set_input_files(
        {"name": "logo.png", "mimeType": "image/png", "buffer": image_bytes(size=(600, 200))}
    )
    page.locator("form[action='/console/branding'] button[type=submit]").click()
    expect(page.get_by_role("status")).to_have_text(SAVED[lang])
    header_logo = page.locator("header .brand img.logo")
    expect(header_logo).to_be_visible()
    assert page.evaluate("document.querySelector('header .brand img.logo').naturalWidth") == 480
    assert_accessible(page)
    if size == "phone":
        assert_fits(page, PHONE)
    # The signing page of this organization's envelope follows the brand.
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=app.url, headers=headers, timeout=60) as api:
        doc = api.post(
            "/api/v1/documents",
            files={"files": ("a.pdf", make_pdf(1), "application/pdf")},
            data={"title": "Consent", "kind": "user_agreement"},
        ).json()
        env = api.post(
            "/api/v1/envelopes",
            json={
                "document_id": doc["id"],
                "signers": [
                    {
                        "role": "patient",
                        "name": "Brand Patient",
                        "method": "sms_otp",
                        "phone": "+79990003003",
                    }
                ],
            },
        ).json()
    page.goto(f"{env['signers'][0]['signing_url']}?lang={lang}")
    expect(page.locator("header .brand")).to_contain_text("Clinic Aurora")
    expect(page.locator("header .brand img.logo")).to_be_visible()
    assert page.evaluate("document.querySelector('header .brand img.logo').naturalWidth") == 480
    color = page.evaluate(
        "getComputedStyle(document.querySelector('button.primary')).backgroundColor"
    )
    assert color == "rgb(122, 31, 92)", color
    heading = page.evaluate("getComputedStyle(document.querySelector('h1')).color")
    assert heading == "rgb(26, 77, 46)", heading
    assert_accessible(page)
    if size == "phone":
        assert_fits(page, PHONE)
    assert not csp, csp
    assert org_id in page.content()


@pytest.mark.parametrize("lang", ["en", "ru", "fa"])
@pytest.mark.parametrize("size", SIZES)
def test_document_template_pages(served: ServedStack, page: Page, size: str, lang: str) -> None:
    page.set_viewport_size(SIZES[size])
    csp = watch_csp(page)
    app = served.app
    _org_id, token, email, password = org_admin(served)
    with httpx.Client(base_url=app.url, timeout=60) as api:
        created = api.post(
            "/api/v1/document-templates",
            headers={"Authorization": f"Bearer {token}"},
            files={"file": ("t.pdf", form_pdf(), "application/pdf")},
            data={"name": "Contract", "kind": "user_agreement", "fields": '{"visit_date": "date"}'},
        )
        assert created.status_code == 201, created.text
    log_in(page, app.url, email, password, lang)
    page.goto(f"{app.url}/console/document-templates")
    assert_accessible(page)
    if size == "phone":
        assert_fits(page, PHONE)
    page.locator(f"a[href='/console/document-templates/{created.json()['id']}']").click()
    expect(page.locator("input[name=field_visit_date]")).to_have_attribute("type", "date")
    assert_accessible(page)
    if size == "phone":
        assert_fits(page, PHONE)
    page.locator("input[name=field_patient_name]").fill("Браузер Пациент")
    page.locator("input[name=field_visit_date]").fill("2026-12-05")
    page.locator("input[name=field_price]").fill("1500.50")  # undeclared: required text
    page.locator("#patient_name").fill("Браузер Пациент")
    page.locator("#contact").fill("+79990005005")
    page.locator("form button[type=submit].primary").click()
    expect(page).to_have_url(re.compile(r"/console/envelopes/[0-9a-f-]+\?done=sent"))
    assert_accessible(page)
    assert not csp, csp
