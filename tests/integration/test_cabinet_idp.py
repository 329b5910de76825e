"""Logging in to the patient cabinet through an identity provider (docs/cabinet.md), on
SQLite and PostgreSQL, against a real OpenID Connect provider on loopback: a linked
identity, a verified email or phone, no verified contact (a clear page), a replayed,
foreign or cancelled answer, linking and unlinking, two accounts racing for one
identity, and which providers each host offers."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from medsign.branding.models import Branding
from medsign.cabinet.models import CabinetAccount, CabinetSession
from medsign.runtime import Runtime
from medsign.settings import Settings
from medsign.web.app import create_app
from tests.support.api import new_org
from tests.support.cabinet import (
    account_contacts,
    hidden,
    linked_identities,
    log_in,
    press,
)
from tests.support.clock import FrozenClock
from tests.support.idp_flow import at_provider, audited, register
from tests.support.oidc_peer import OidcPeer
from tests.support.pages import form_fields, latest_code
from tests.support.threaded import serve_in_thread
from tests.support.worker import drain

PHONE = "+79990001122"  # pavel's verified phone at the provider


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """http:// issuers on loopback, and a short provider timeout."""
    return settings.model_copy(update={"idp_allow_http": True, "idp_timeout_seconds": 1.0})


@pytest.fixture
def peer(clock: FrozenClock) -> Iterator[OidcPeer]:
    """A provider on loopback that issues tokens on the test's clock."""
    with OidcPeer(clock) as provider:
        yield provider


@pytest.fixture
def provider(client: TestClient, rt: Runtime, peer: OidcPeer) -> dict[str, Any]:
    """The peer registered by a clinic and offered for cabinet login."""
    _, headers = new_org(rt)
    created = register(client, headers, peer, cabinet_login=True)
    return {**created, "headers": headers}


def idp_login(client: TestClient, peer: OidcPeer, account: str) -> Any:
    """ "Log in with Test ID" as ``account`` at the provider; the callback's response."""
    peer.account = account
    return client.get(at_provider(press(client, "/cabinet?lang=en", "Log in with Test ID")))


def _link(client: TestClient, peer: OidcPeer, account: str) -> Any:
    peer.account = account
    return client.get(at_provider(press(client, "/cabinet/devices?lang=en", "Link Test ID")))


def _fresh(client: TestClient) -> TestClient:
    """Another browser on the same app."""
    return TestClient(client.app, follow_redirects=False)


def test_verified_email_logs_in_creates_the_account_and_links(
    client: TestClient, rt: Runtime, peer: OidcPeer, provider: dict[str, Any]
) -> None:
    res = idp_login(client, peer, "anna")
    assert res.status_code == 303 and res.headers["location"] == "/cabinet?lang=en", res.text
    cookie = res.headers["set-cookie"]
    assert "medsign_cabinet=" in cookie and "HttpOnly" in cookie and "Path=/cabinet" in cookie
    home = client.get("/cabinet?lang=en")
    assert "Logged in as" in home.text and ">Attach code<" in home.text
    assert account_contacts(rt) == ["Anna@example.org"]
    ((account_id, issuer, subject),) = linked_identities(rt)
    assert (issuer, subject) == (peer.issuer, "sub-anna")
    with rt.transaction() as session:
        stored = session.scalars(select(CabinetSession)).one()
        assert (stored.login_method, stored.identity_provider_id) == ("idp", provider["id"])
        assert stored.account_id == account_id
    devices = client.get("/cabinet/devices?lang=en").text
    assert "Logged in with Test ID" in devices and devices.count(">Unlink<") == 1
    title = devices[devices.index("<title>") : devices.index("</title>")]
    assert "<form" not in title and "Devices" in title  # the section is in the page, once
    # Another device: the linked identity now decides, the same account.
    again = idp_login(_fresh(client), peer, "anna")
    assert again.status_code == 303
    assert account_contacts(rt) == ["Anna@example.org"]
    assert [e["by"] for e in audited(rt, "cabinet.idp_login")] == ["contact", "identity"]
    started = audited(rt, "cabinet.idp_started")
    assert len(started) == 2 and started[0]["purpose"] == "cabinet_login"
    sent = peer.last_authorize
    assert sent["code_challenge_method"] == "S256" and "prompt" not in sent
    assert sent["max_age"] == "600"


def test_verified_phone_opens_the_account_of_the_code_login(
    client: TestClient, rt: Runtime, peer: OidcPeer, provider: dict[str, Any]
) -> None:
    log_in(client, rt, PHONE)
    with rt.transaction() as session:
        code_account = session.scalars(select(CabinetAccount.id)).one()
    browser = _fresh(client)
    assert idp_login(browser, peer, "pavel").status_code == 303
    assert account_contacts(rt) == [PHONE]
    assert linked_identities(rt)[0][0] == code_account
    devices = client.get("/cabinet/devices?lang=en").text  # the code device sees both
    assert "Logged in with a code" in devices and "Logged in with Test ID" in devices
    # "Log out everywhere" ends the IdP session too.
    client.post("/cabinet/devices/end-all", data=hidden(client, "/cabinet/devices?lang=en"))
    assert ">Log in with Test ID<" in browser.get("/cabinet?lang=en").text


@pytest.mark.parametrize(
    ("lang", "heading"),
    [
        ("en", "We could not tell which cabinet is yours"),
        ("ru", "Мы не смогли определить, какой кабинет ваш"),
        ("fa", "نتوانستیم تشخیص دهیم کدام پرونده متعلق به شماست"),
    ],
)
def test_no_verified_contact_is_a_clear_page(
    client: TestClient,
    rt: Runtime,
    peer: OidcPeer,
    provider: dict[str, Any],
    lang: str,
    heading: str,
) -> None:
    peer.account = "unverified"
    location = press(client, f"/cabinet?lang={lang}", _button(lang))
    res = client.get(at_provider(location))
    assert res.status_code == 403, res.text
    assert heading in res.text and "Test ID" in res.text
    assert f'href="/cabinet?lang={lang}"' in res.text
    if lang == "en":
        assert "Log in once with a code" in res.text and "“Devices”" in res.text
    assert account_contacts(rt) == [] and linked_identities(rt) == []
    with rt.transaction() as session:
        assert session.scalar(select(func.count()).select_from(CabinetSession)) == 0
    assert [e["reason"] for e in audited(rt, "cabinet.idp_failed")] == ["no-verified-contact"]


def _button(lang: str) -> str:
    return {"en": "Log in with", "ru": "Войти через", "fa": "ورود با"}[lang] + " Test ID"


def test_replayed_foreign_and_cancelled_answers_log_nobody_in(
    client: TestClient, rt: Runtime, peer: OidcPeer, provider: dict[str, Any]
) -> None:
    peer.account = "anna"
    back = at_provider(press(client, "/cabinet?lang=en", "Log in with Test ID"))
    # Another browser brings the answer: it has no state cookie for it.
    stranger = _fresh(client).get(back)
    assert stranger.status_code == 403 and "does not belong" in stranger.text
    state = client.cookies.get("medsign_idp_state")
    assert state and client.get(back).status_code == 303  # the right browser
    assert client.get(back).status_code == 403  # its state cookie went with the login
    client.cookies.set("medsign_idp_state", state, domain="testserver.local", path="/idp/")
    replay = client.get(back)  # the same answer and cookie again: used already
    assert replay.status_code == 403 and "The login did not work" in replay.text
    peer.cancel = True
    cancelled = idp_login(_fresh(client), peer, "anna")
    assert cancelled.status_code == 403 and "was cancelled" in cancelled.text
    with rt.transaction() as session:
        assert session.scalar(select(func.count()).select_from(CabinetSession)) == 1
    reasons = [e["reason"] for e in audited(rt, "cabinet.idp_failed")]
    assert sorted(reasons) == ["cancelled", "replayed"]


def test_link_login_and_unlink(
    client: TestClient, rt: Runtime, peer: OidcPeer, provider: dict[str, Any]
) -> None:
    log_in(client, rt, PHONE)
    res = _link(client, peer, "maria")  # maria's provider tells no contact at all
    assert res.status_code == 200 and "Test ID is linked" in res.text, res.text
    assert peer.last_authorize["prompt"] == "login" and peer.last_authorize["max_age"] == "0"
    (linked,) = linked_identities(rt)
    assert linked[2] == "sub-maria"
    assert "<h1>Test ID was already linked</h1>" in _link(client, peer, "maria").text
    browser = _fresh(client)
    assert idp_login(browser, peer, "maria").status_code == 303
    assert "Logged in as" in browser.get("/cabinet?lang=en").text
    page = client.get("/cabinet/devices?lang=en")
    unlink = re.search(r'action="(/cabinet/identities/[^/]+/unlink)"', page.text)
    assert unlink is not None
    done = client.post(unlink.group(1), data=form_fields(page.text))
    assert done.status_code == 200 and "Test ID no longer logs you in" in done.text
    assert linked_identities(rt) == []
    assert idp_login(_fresh(client), peer, "maria").status_code == 403
    # Unlinking another account's identity (or twice) is a clear 404, nothing else.
    again = client.post(unlink.group(1), data=form_fields(page.text))
    assert again.status_code == 404 and "not linked" in again.text
    # Without the session's token nothing happens.
    assert client.post(unlink.group(1), data={"csrf": "x"}).status_code == 303
    actions = [e for e in audited(rt, "cabinet.idp_unlinked")]
    assert len(actions) == 1


def test_an_identity_linked_elsewhere_and_a_link_after_logout_are_refused(
    client: TestClient, rt: Runtime, peer: OidcPeer, provider: dict[str, Any]
) -> None:
    log_in(client, rt, PHONE)
    assert _link(client, peer, "maria").status_code == 200
    other = _fresh(client)
    log_in(other, rt, "+79995556677")
    taken = _link(other, peer, "maria")
    assert taken.status_code == 409 and "This login belongs to another cabinet" in taken.text
    assert len(linked_identities(rt)) == 1
    # A link started, then every session ended (a lost phone): the link does not land.
    peer.account = "other"
    back = at_provider(press(other, "/cabinet/devices?lang=en", "Link Test ID"))
    other.post("/cabinet/devices/end-all", data=hidden(other, "/cabinet/devices?lang=en"))
    late = other.get(back)
    assert late.status_code == 403 and "no longer logged in" in late.text
    assert len(linked_identities(rt)) == 1
    reasons = sorted(e["reason"] for e in audited(rt, "cabinet.idp_failed"))
    assert reasons == ["identity-taken", "session-ended"]


def test_two_accounts_racing_for_one_identity_get_one_link(
    client: TestClient, rt: Runtime, peer: OidcPeer, provider: dict[str, Any]
) -> None:
    peer.account = "maria"
    n = 4
    with serve_in_thread(create_app(runtime=rt, migrate=False)) as base:
        browsers = [httpx.Client(base_url=base, timeout=60.0) for _ in range(n)]
        backs = []
        for i, browser in enumerate(browsers):
            contact = f"+7999111000{i}"
            fields = form_fields(browser.get("/cabinet?lang=en").text)
            assert browser.post("/cabinet/code", data={**fields, "contact": contact}).is_success
            drain(rt)
            code = latest_code(rt, contact)
            res = browser.post("/cabinet/login", data={**fields, "contact": contact, "code": code})
            assert res.status_code == 303, res.text
            backs.append(at_provider(press(browser, "/cabinet/devices?lang=en", "Link Test ID")))
        go = threading.Barrier(n)
        answers: list[int] = []

        def finish(browser: httpx.Client, back: str) -> None:
            go.wait()
            answers.append(browser.get(back).status_code)

        threads = [
            threading.Thread(target=finish, args=pair) for pair in zip(browsers, backs, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        for browser in browsers:
            browser.close()
    assert sorted(answers) == [200] + [409] * (n - 1), answers
    assert len(linked_identities(rt)) == 1


def test_which_providers_each_host_offers(
    client: TestClient, rt: Runtime, peer: OidcPeer, provider: dict[str, Any], clock: FrozenClock
) -> None:
    clock.advance(minutes=1)  # the first clinic's registration is the older one
    org_b, headers_b = new_org(rt, "Clinic B")
    same = register(client, headers_b, peer, name="Test ID (B)", cabinet_login=True)
    org_c, headers_c = new_org(rt, "Clinic C")
    peer_c = register(client, headers_c, peer, name="Not offered", client_id="other-client")
    answer = client.get("/cabinet?lang=en")
    # The button's form leads to the provider: CSP form-action allows its origin.
    assert f"form-action 'self' {peer.issuer}" in answer.headers["content-security-policy"]
    main = answer.text
    # One button per issuer and client id; a provider not marked is not offered.
    assert main.count("/cabinet/idp/") == 1 and ">Log in with Test ID<" in main
    assert "Not offered" not in main
    with rt.transaction() as session:
        session.add(Branding(organization_id=org_b, custom_domain="b.clinic.example", version=1))
    on_b = client.get("/cabinet?lang=en", headers={"host": "b.clinic.example"}).text
    assert ">Log in with Test ID (B)<" in on_b and on_b.count("/cabinet/idp/") == 1
    # Org B's domain does not start a login through the first clinic's provider.
    fields = form_fields(on_b)
    res = client.post(
        f"/cabinet/idp/{provider['id']}", data=fields, headers={"host": "b.clinic.example"}
    )
    assert res.status_code == 404 and "not offered" in res.text
    # The API lists and changes the mark.
    listed = client.get("/api/v1/identity-providers", headers=headers_c).json()["items"]
    assert [p["cabinet_login"] for p in listed] == [False]
    url = f"/api/v1/identity-providers/{peer_c['id']}"
    res = client.patch(url, headers=headers_c, json={"cabinet_login": True})
    assert res.status_code == 200 and res.json()["cabinet_login"] is True
    assert client.patch(url, headers=headers_b, json={"cabinet_login": True}).status_code == 404
    bad = client.patch(url, headers=headers_c, json={"cabinet_login": "maybe"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert "Not offered" in client.get("/cabinet?lang=en").text
    assert same["id"] and org_c
