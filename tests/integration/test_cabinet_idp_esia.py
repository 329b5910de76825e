"""Logging in to the patient cabinet through ESIA (docs/cabinet.md "Logging in through an
identity provider"), on SQLite and PostgreSQL: the GOST-signed trip of test_idp_esia.py,
then the person's contacts read from ESIA's ``/rs/prns/{oid}/ctts`` (served by the
ESIA-shaped peer as ESIA's REST API does). A verified mobile or email names the account;
contacts still being confirmed, or of other types, name nothing (the clear page); without
the ``mobile``/``email`` scopes ESIA is not asked at all."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from medsign.cabinet.models import CabinetAccount, CabinetSession
from medsign.identity import gost
from medsign.identity.schemas import ESIA_SCOPES
from medsign.runtime import Runtime
from medsign.settings import Settings
from medsign.web.app import create_app
from tests.integration.test_idp_esia import register
from tests.support.api import new_org
from tests.support.cabinet import account_contacts, linked_identities, log_in, press
from tests.support.clock import FrozenClock
from tests.support.esia_peer import PERSONS, EsiaPeer
from tests.support.idp_flow import at_provider, audited
from tests.support.threaded import serve_in_thread

MOBILE = "+79123456789"  # maria's verified mobile at ESIA, written +7(912)3456789 there
EMAIL = "maria@example.org"  # and her verified email
OID = str(PERSONS["maria"]["oid"])
CONTACTS = f"/rs/prns/{OID}/ctts?embed=(elements)"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """http:// base URLs on loopback, and a short provider timeout."""
    return settings.model_copy(update={"idp_allow_http": True, "idp_timeout_seconds": 5.0})


@pytest.fixture(scope="module")
def clinic_key() -> gost.Credential:
    """The clinic's information system credential, registered at ESIA and at medsign."""
    return gost.new_credential("medsign test clinic")


@pytest.fixture
def peer(clock: FrozenClock, clinic_key: gost.Credential) -> Iterator[EsiaPeer]:
    """ESIA on loopback, knowing the clinic's certificate."""
    with EsiaPeer(clock, clinic_key) as provider:
        yield provider


def offer(
    client: TestClient, rt: Runtime, peer: EsiaPeer, key: gost.Credential, *extra_scopes: str
) -> dict[str, Any]:
    """A clinic registers ESIA (with ``extra_scopes``) and offers it for cabinet login."""
    _, headers = new_org(rt)
    scopes = [*ESIA_SCOPES, *extra_scopes]
    return register(client, headers, peer, key, scopes=scopes, cabinet_login=True)


def esia_login(client: TestClient | httpx.Client, peer: EsiaPeer, account: str) -> str:
    """Press "Log in with Test ID" and log in at ESIA as ``account``; the callback path."""
    peer.account = account
    return at_provider(press(client, "/cabinet?lang=en", "Log in with Test ID"))


def _fresh(client: TestClient) -> TestClient:
    """Another browser on the same app."""
    return TestClient(client.app, follow_redirects=False)


def _sessions(rt: Runtime) -> int:
    with rt.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(CabinetSession)) or 0)


@pytest.mark.parametrize(("scope", "contact"), [("mobile", MOBILE), ("email", EMAIL)])
def test_verified_contact_creates_the_account_and_links(
    client: TestClient,
    rt: Runtime,
    peer: EsiaPeer,
    clinic_key: gost.Credential,
    scope: str,
    contact: str,
) -> None:
    offer(client, rt, peer, clinic_key, scope)
    res = client.get(esia_login(client, peer, "maria"))
    assert res.status_code == 303 and res.headers["location"] == "/cabinet?lang=en", res.text
    assert "Logged in as" in client.get("/cabinet?lang=en").text
    # GOST both ways, then the person and the contacts the scope releases, embedded.
    assert peer.verified == ["authorize", "token"] and not peer.refused
    assert peer.last_authorize["scope"] == f"openid fullname birthdate snils {scope}"
    assert peer.rest_paths == [f"/rs/prns/{OID}", CONTACTS]
    # ESIA's other verified contact is not released under this scope: one account only.
    assert account_contacts(rt) == [contact]
    ((account_id, issuer, subject),) = linked_identities(rt)
    assert (issuer, subject) == (peer.url, OID)
    with rt.transaction() as session:
        account = session.get(CabinetAccount, account_id)
        assert account is not None and account.channel == ("sms" if scope == "mobile" else "email")
    # Another device: the linked identity decides now, the same account.
    browser = _fresh(client)
    assert browser.get(esia_login(browser, peer, "maria")).status_code == 303
    assert account_contacts(rt) == [contact] and len(linked_identities(rt)) == 1
    logins = audited(rt, "cabinet.idp_login")
    assert [e["by"] for e in logins] == ["contact", "identity"]
    assert contact not in json.dumps(logins + audited(rt, "cabinet.idp_started"))


def test_verified_mobile_opens_the_account_of_the_code_login(
    client: TestClient, rt: Runtime, peer: EsiaPeer, clinic_key: gost.Credential
) -> None:
    offer(client, rt, peer, clinic_key, "mobile", "email")
    log_in(client, rt, MOBILE)
    with rt.transaction() as session:
        code_account = session.scalars(select(CabinetAccount.id)).one()
    browser = _fresh(client)
    assert browser.get(esia_login(browser, peer, "maria")).status_code == 303
    # The mobile comes first: the account of the code login, not a new one for the email.
    assert account_contacts(rt) == [MOBILE]
    assert linked_identities(rt)[0][0] == code_account
    devices = client.get("/cabinet/devices?lang=en").text
    assert "Logged in with a code" in devices and "Logged in with Test ID" in devices


@pytest.mark.parametrize(
    ("lang", "button", "heading"),
    [
        ("en", "Log in with", "We could not tell which cabinet is yours"),
        ("ru", "Войти через", "Мы не смогли определить, какой кабинет ваш"),
    ],
)
def test_unverified_contacts_are_the_clear_page(
    client: TestClient,
    rt: Runtime,
    peer: EsiaPeer,
    clinic_key: gost.Credential,
    lang: str,
    button: str,
    heading: str,
) -> None:
    # "other" has a mobile and an email still being confirmed, and a verified home phone
    # and work email: ESIA releases all four ("contacts"), none names a cabinet.
    offer(client, rt, peer, clinic_key, "mobile", "email", "contacts")
    peer.account = "other"
    res = client.get(at_provider(press(client, f"/cabinet?lang={lang}", f"{button} Test ID")))
    assert res.status_code == 403, res.text
    assert heading in res.text and "Test ID" in res.text
    assert f'href="/cabinet?lang={lang}"' in res.text
    other = str(PERSONS["other"]["oid"])
    assert peer.rest_paths == [f"/rs/prns/{other}", f"/rs/prns/{other}/ctts?embed=(elements)"]
    assert account_contacts(rt) == [] and linked_identities(rt) == [] and _sessions(rt) == 0
    assert [e["reason"] for e in audited(rt, "cabinet.idp_failed")] == ["no-verified-contact"]


def test_without_contact_scopes_esia_is_not_asked(
    client: TestClient, rt: Runtime, peer: EsiaPeer, clinic_key: gost.Credential
) -> None:
    offer(client, rt, peer, clinic_key)  # the signing scopes only
    res = client.get(esia_login(client, peer, "maria"))
    assert res.status_code == 403 and "We could not tell which cabinet is yours" in res.text
    assert peer.rest_paths == [f"/rs/prns/{OID}"]
    assert account_contacts(rt) == [] and _sessions(rt) == 0
    # Once linked from a cabinet opened with a code, the same ESIA login gets in.
    log_in(client, rt, "+79995550000")
    peer.account = "maria"
    linked = client.get(at_provider(press(client, "/cabinet/devices?lang=en", "Link Test ID")))
    assert linked.status_code == 200 and "Test ID is linked" in linked.text, linked.text
    browser = _fresh(client)
    assert browser.get(esia_login(browser, peer, "maria")).status_code == 303
    assert account_contacts(rt) == ["+79995550000"]


def test_parallel_first_logins_make_one_account(
    client: TestClient, rt: Runtime, peer: EsiaPeer, clinic_key: gost.Credential
) -> None:
    """Maria logs in through ESIA on several devices at once, before any account exists:
    one account, one linked identity, every device logged in to it."""
    offer(client, rt, peer, clinic_key, "mobile")
    n = 3
    with serve_in_thread(create_app(runtime=rt, migrate=False)) as base:
        browsers = [httpx.Client(base_url=base, timeout=60.0) for _ in range(n)]
        backs = [esia_login(browser, peer, "maria") for browser in browsers]
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
        homes = [browser.get("/cabinet?lang=en").text for browser in browsers]
        for browser in browsers:
            browser.close()
    assert answers == [303] * n, answers
    assert all("Logged in as" in home for home in homes)
    assert account_contacts(rt) == [MOBILE]
    ((account_id, _, _),) = linked_identities(rt)
    with rt.transaction() as session:
        owners = set(session.scalars(select(CabinetSession.account_id)))
    assert owners == {account_id} and _sessions(rt) == n
