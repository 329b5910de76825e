"""A patient signs informed consent by logging in at a real OpenID Connect provider
(panva's oidc-provider on Node 22) in a phone-sized Chromium, through the provider's
own login form; another person's login and a cancelled login sign nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_browser_signing import new_phone
from tests.support import oidc_node
from tests.support.oidc_node import NodeOidcProvider
from tests.support.pdfs import make_pdf
from tests.support.served import ServedStack

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not oidc_node.available(), reason="run scripts/install-node.sh (Node 22, oidc-provider)"
    ),
]


@pytest.fixture
def provider(served_each_db: ServedStack, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """oidc-provider running, registered with the served medsign; its id and process."""
    app = served_each_db.app
    with NodeOidcProvider(f"{app.url}/idp/callback/", tmp_path / "oidc.log") as op:
        res = app.http.post(
            "/api/v1/identity-providers",
            headers=app.headers,
            json={
                "name": "Test ID",
                "issuer": op.issuer,
                "client_id": op.client_id,
                "client_secret": op.client_secret,
                "scopes": ["openid", "profile", "snils"],
                "claims": {"national_id": "snils"},
            },
        )
        assert res.status_code == 201, res.text
        yield {"id": res.json()["id"], "op": op}


def _send(stack: ServedStack, provider_id: str) -> tuple[str, str]:
    doc = stack.app.upload(make_pdf(), title="Informed consent", kind="informed_consent")
    env = stack.app.create_envelope(
        doc["id"],
        {
            "role": "patient",
            "name": "Мария Петровна Иванова",
            "method": "idp",
            "phone": new_phone(),
            "identity_provider_id": provider_id,
            "birth_date": "1990-04-12",
        },
    )
    return env["id"], env["signers"][0]["signing_url"]


def _login_at_provider(page: Page, login: str) -> None:
    page.get_by_role("button", name="Sign with Test ID").click()
    page.locator('input[name="login"]').fill(login)
    page.locator('input[name="password"]').fill("any password")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()


def test_patient_signs_through_the_provider(
    served_each_db: ServedStack, provider: dict[str, Any], page: Page
) -> None:
    stack = served_each_db
    envelope_id, url = _send(stack, provider["id"])
    page.goto(url + "?lang=en")
    _login_at_provider(page, "maria")
    expect(page.get_by_text("Signed", exact=True).first).to_be_visible()
    stack.app.wait_for_envelope(envelope_id, "completed")
    pdf = stack.app.envelope_pdf(envelope_id)
    res = stack.app.http.post("/api/v1/verify", files={"file": ("s.pdf", pdf, "application/pdf")})
    body = res.json()
    assert body["valid"], body
    sig = body["signatures"][0]
    assert sig["method"] == "idp"
    assert (sig["identity_issuer"], sig["identity_subject"]) == (provider["op"].issuer, "maria")


def test_another_person_and_a_cancel_sign_nothing(
    served_each_db: ServedStack, provider: dict[str, Any], page: Page
) -> None:
    stack = served_each_db
    envelope_id, url = _send(stack, provider["id"])
    page.goto(url + "?lang=en")
    _login_at_provider(page, "ivan")
    expect(page.get_by_role("heading", name="This document is for another person")).to_be_visible()
    page.get_by_role("link", name="Back to the document").click()
    page.get_by_role("button", name="Sign with Test ID").click()
    page.get_by_role("link", name="[ Cancel ]").click()
    expect(page.get_by_role("heading", name="The login could not be used to sign")).to_be_visible()
    expect(page.get_by_text("cancelled")).to_be_visible()
    state = stack.app.envelope(envelope_id)
    assert state["status"] == "sent" and state["signers"][0]["status"] == "notified"
