"""In the browser: an admin uploads the organization's seal in the console; a PDF sealed
with it shows on the public verify page as a registered seal of that organization, in
en, ru and fa, accessible and within 360 px, under the strict CSP."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from medsign.i18n import TEXTS
from tests.e2e.test_console_browser import PHONE, SIZES, assert_fits, log_in, new_staff, watch_csp
from tests.support.axe import assert_accessible
from tests.support.pdfs import make_pdf
from tests.support.seal_pki import PASSWORD, SealPki
from tests.support.served import ServedStack, add_org

pytestmark = pytest.mark.e2e

ORG = "Northside Clinic"


def _sealed(base: str, token: str) -> bytes:
    """A document sealed by the organization through the API (the worker seals it)."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30.0) as c:
        doc = c.post(
            "/api/v1/documents",
            files={"files": ("document.pdf", make_pdf(1), "application/pdf")},
            data={"title": "Record", "kind": "user_agreement"},
        ).json()
        env = c.post(
            "/api/v1/envelopes",
            json={
                "document_id": doc["id"],
                "signers": [{"role": "clinic", "name": "Clinic", "method": "seal"}],
            },
        ).json()
        res = c.post(
            f"/api/v1/envelopes/{env['id']}/signers/{env['signers'][0]['id']}/seal",
            json={"staff_name": "Registrar"},
        )
        assert res.status_code == 200, res.text
        for _ in range(200):
            if c.get(f"/api/v1/envelopes/{env['id']}").json()["status"] == "completed":
                break
            time.sleep(0.1)
        pdf = c.get(f"/api/v1/envelopes/{env['id']}/pdf")
        assert pdf.status_code == 200, pdf.text
        return pdf.content


@pytest.mark.parametrize("lang", ["en", "ru", "fa"])
@pytest.mark.parametrize("size", SIZES)
def test_registered_seal_on_the_verify_page(
    served: ServedStack, page: Page, lang: str, size: str, tmp_path: Path
) -> None:
    app = served.app
    org_id, token = add_org(app, f"{ORG} {lang} {size}")
    email, password = new_staff(app, "admin", org_id)
    log_in(page, app.url, email, password)
    p12 = tmp_path / "seal.p12"
    p12.write_bytes(SealPki(datetime.now(UTC)).seal().pkcs12())
    page.goto(f"{app.url}/console/settings/seal?lang=en")
    page.locator("#seal-p12").set_input_files(str(p12))
    page.locator("#seal-password").fill(PASSWORD)
    page.locator("form[enctype] button.primary").click()
    expect(page.get_by_text("uploaded certificate")).to_be_visible()
    pdf = tmp_path / "sealed.pdf"
    pdf.write_bytes(_sealed(app.url, token))

    page.set_viewport_size(SIZES[size])
    csp = watch_csp(page)
    page.goto(f"{app.url}/verify?lang={lang}")
    page.locator("#file").set_input_files(str(pdf))
    page.locator("form[enctype] button.primary").click()
    label = TEXTS["trust_registered_seal"][lang].format(org=f"{ORG} {lang} {size}")
    expect(page.locator(".trust-registered-seal")).to_have_text(label)
    expect(page.get_by_text(TEXTS["trust_registered_explained"][lang])).to_be_visible()
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "fa" else "ltr")
    assert_accessible(page)
    if size == "phone":
        assert_fits(page, PHONE)
    assert not csp, csp
