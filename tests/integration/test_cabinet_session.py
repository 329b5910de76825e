"""The cabinet's session dependencies (web/pages/cabinet_session.py) on the real app,
SQLite and PostgreSQL: a probe page and a probe form post behind ``PageVisit`` and
``CabinetForm``. Without a session, or with a token that is not the session's, the
answer is the login page's 303 in the posted language and the handler's work is not
done; with both the handler runs; a malformed post stays a 422; the session is looked
up once per request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import FastAPI, Form
from fastapi.responses import Response
from fastapi.testclient import TestClient
from sqlalchemy import event

from medsign.runtime import Runtime
from medsign.web.app import create_app
from medsign.web.pages.cabinet_session import CabinetForm, PageVisit
from tests.support.cabinet import hidden, log_in

PHONE = "+79991234567"


class Probe:
    """What the probe handlers saw: (language, contact) of each visit they ran for."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, str]] = []


@pytest.fixture
def probe(rt: Runtime) -> Iterator[tuple[TestClient, Probe]]:
    """The app with a cabinet probe page and form (no redirects followed)."""
    app: FastAPI = create_app(runtime=rt, migrate=False)
    seen = Probe()

    def page(cab: PageVisit) -> Response:
        seen.ran.append((cab.lang, cab.visit.account.contact))
        return Response(status_code=204)

    def post(form: CabinetForm, note: Annotated[str, Form(max_length=5)] = "") -> Response:
        cab = form.checked()
        seen.ran.append((cab.lang, cab.visit.account.contact))
        return Response(status_code=204)

    app.router.add_api_route("/cabinet/probe", page, methods=["GET"])
    app.router.add_api_route("/cabinet/probe", post, methods=["POST"])
    with TestClient(app, follow_redirects=False) as client:
        yield client, seen


def _to_login(res: Any, lang: str) -> None:
    assert res.status_code == 303, res.text
    assert res.headers["location"] == f"/cabinet?lang={lang}"


def test_form_post_without_session_goes_to_login_in_its_language(
    probe: tuple[TestClient, Probe],
) -> None:
    client, seen = probe
    _to_login(client.post("/cabinet/probe", data={"csrf": "x" * 32, "lang": "fa"}), "fa")
    _to_login(client.post("/cabinet/probe?lang=ru", data={}), "ru")  # no posted language
    assert seen.ran == []


def test_form_post_with_a_token_not_the_sessions_goes_to_login(
    probe: tuple[TestClient, Probe], rt: Runtime
) -> None:
    client, seen = probe
    log_in(client, rt, PHONE)
    good = hidden(client, "/cabinet?lang=fa")["csrf"]
    for csrf in ("", "0" * len(good), good[:-1]):
        _to_login(client.post("/cabinet/probe", data={"csrf": csrf, "lang": "fa"}), "fa")
    assert seen.ran == []


def test_form_post_with_the_sessions_token_runs_the_handler(
    probe: tuple[TestClient, Probe], rt: Runtime
) -> None:
    client, seen = probe
    log_in(client, rt, PHONE)
    fields = hidden(client, "/cabinet?lang=fa")
    assert fields["lang"] == "fa"
    res = client.post("/cabinet/probe", data=fields)
    assert res.status_code == 204, res.text
    assert seen.ran == [("fa", PHONE)]


def test_malformed_post_is_422_before_the_session_is_asked(
    probe: tuple[TestClient, Probe], rt: Runtime
) -> None:
    """FastAPI validates the handler's own fields after its dependencies: the check
    waits for the handler, so a malformed post stays a 422, logged in or not."""
    client, seen = probe
    assert client.post("/cabinet/probe", data={"lang": "fa", "note": "toolong"}).status_code == 422
    assert client.post("/cabinet/probe", data={"lang": "fa-IR-x"}).status_code == 422
    log_in(client, rt, PHONE)
    fields = hidden(client, "/cabinet?lang=fa")
    assert client.post("/cabinet/probe", data={**fields, "note": "toolong"}).status_code == 422
    assert seen.ran == []


def test_page_without_session_goes_to_login_in_the_pages_language(
    probe: tuple[TestClient, Probe], rt: Runtime
) -> None:
    client, seen = probe
    _to_login(client.get("/cabinet/probe?lang=fa"), "fa")
    _to_login(client.get("/cabinet/probe", headers={"accept-language": "ru"}), "ru")
    assert seen.ran == []
    log_in(client, rt, PHONE)
    assert client.get("/cabinet/probe?lang=fa").status_code == 204
    assert seen.ran == [("fa", PHONE)]


def test_the_session_is_looked_up_once_per_request(
    probe: tuple[TestClient, Probe], rt: Runtime
) -> None:
    client, _seen = probe
    log_in(client, rt, PHONE)
    fields = hidden(client, "/cabinet?lang=en")
    lookups: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM cabinet_sessions" in statement:
            lookups.append(statement)

    event.listen(rt.engine, "before_cursor_execute", count)
    try:
        assert client.get("/cabinet/probe").status_code == 204
        assert len(lookups) == 1
        assert client.post("/cabinet/probe", data=fields).status_code == 204
        assert len(lookups) == 2
        assert client.post("/cabinet/probe", data={"lang": "en"}).status_code == 303
        assert len(lookups) == 3
    finally:
        event.remove(rt.engine, "before_cursor_execute", count)
