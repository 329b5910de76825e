"""A patient logs in to the cabinet through a real OpenID Connect provider (panva's
oidc-provider on Node 22) in a 360 px Chromium: "Log in with <provider>" on /cabinet,
the provider's own login form, and back in the cabinet, logged in; the buttons in en,
ru and fa (right to left), every page axe-clean."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_browser_signing import assert_no_horizontal_scroll
from tests.support import oidc_node
from tests.support.axe import assert_accessible
from tests.support.oidc_node import NodeOidcProvider
from tests.support.served import ServedStack

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not oidc_node.available(), reason="run scripts/install-node.sh (Node 22, oidc-provider)"
    ),
]


def test_log_in_to_the_cabinet_through_the_provider(
    served: ServedStack, page: Page, tmp_path: Path
) -> None:
    app = served.app
    name = f"Clinic ID {secrets.token_hex(3)}"  # the served stack is shared: our button
    with NodeOidcProvider(f"{app.url}/idp/callback/", tmp_path / "oidc.log") as op:
        res = app.http.post(
            "/api/v1/identity-providers",
            headers=app.headers,
            json={
                "name": name,
                "issuer": op.issuer,
                "client_id": op.client_id,
                "client_secret": op.client_secret,
                "scopes": ["openid", "profile", "email"],
                "cabinet_login": True,
            },
        )
        assert res.status_code == 201, res.text
        for lang, label in (("ru", f"Войти через {name}"), ("fa", f"ورود با {name}")):
            page.goto(f"{app.url}/cabinet?lang={lang}")
            expect(page.get_by_role("button", name=label)).to_be_visible()
            assert_accessible(page)
            assert_no_horizontal_scroll(page)
        assert page.locator("html").get_attribute("dir") == "rtl"
        page.goto(f"{app.url}/cabinet?lang=en")
        assert_accessible(page)
        page.get_by_role("button", name=f"Log in with {name}").click()
        page.locator('input[name="login"]').fill("anna")
        page.locator('input[name="password"]').fill("any password")
        page.get_by_role("button", name="Sign-in").click()
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_text("Logged in as")).to_be_visible()
        assert page.url.startswith(f"{app.url}/cabinet")
        assert_accessible(page)
        assert_no_horizontal_scroll(page)
        page.goto(f"{app.url}/cabinet/devices?lang=en")
        expect(page.get_by_text(f"Logged in with {name}")).to_be_visible()
        expect(page.get_by_role("button", name=f"Unlink: {name}")).to_be_visible()
        assert_accessible(page)
        assert_no_horizontal_scroll(page)
