"""A fuzzer over the cabinet's forms and paths: random contacts, codes, attach codes,
ids and tokens, logged in and not. No answer may be a 5xx, every 429 carries
Retry-After, and a random id never reaches a document. SQLite only, bounded."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medsign.runtime import Runtime
from tests.support.cabinet import hidden, log_in

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
text = st.text(st.characters(codec="utf-8"), max_size=300)
ids = st.text(st.characters(codec="utf-8", exclude_characters="/?#%\x00"), max_size=80)


@pytest.fixture
def cabinet(client: TestClient, rt: Runtime, database_url: str) -> Iterator[TestClient]:
    """A client logged in to a cabinet."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the fuzzer runs once, on SQLite")
    rt.settings.cabinet_codes_per_ip_per_hour = 1_000_000  # the limiters are tested elsewhere
    rt.settings.cabinet_attach_failures_per_ip = 1_000_000
    rt.settings.cabinet_attach_failures_per_account = 1_000_000
    log_in(client, rt, "+79991234567")
    yield client


def _sane(res_status: int, headers: dict[str, str]) -> None:
    assert res_status < 500
    if res_status == 429:
        assert "retry-after" in headers


@FUZZ
@given(contact=text, code=text, csrf=text)
def test_login_forms(cabinet: TestClient, contact: str, code: str, csrf: str) -> None:
    fresh = TestClient(cabinet.app, follow_redirects=False)
    fields = hidden(fresh)
    for data in (
        {**fields, "contact": contact},
        {"contact": contact, "csrf": csrf},
        {**fields, "contact": contact, "code": code},
    ):
        for path in ("/cabinet/code", "/cabinet/login"):
            res = fresh.post(path, data=data)
            _sane(res.status_code, dict(res.headers))


@FUZZ
@given(code=text, some_id=ids)
def test_cabinet_forms_and_paths(cabinet: TestClient, code: str, some_id: str) -> None:
    fields = hidden(cabinet)
    res = cabinet.post("/cabinet/attach", data={**fields, "code": code})
    _sane(res.status_code, dict(res.headers))
    quoted = quote(some_id, safe="")
    for method, path in (
        ("GET", f"/cabinet/documents/{quoted}"),
        ("GET", f"/cabinet/documents/{quoted}/signed.pdf"),
        ("GET", f"/cabinet/documents/{quoted}/evidence.json"),
        ("GET", f"/cabinet/agreements/{quoted}/agreement.pdf"),
        ("GET", f"/cabinet/documents/{quoted}/pages/1.webp"),
        ("GET", f"/cabinet/documents/1/pages/{quoted}"),
        ("GET", f"/cabinet/agreements/{quoted}"),
        ("GET", f"/cabinet/agreements/{quoted}/pages/1.webp?w={quoted}"),
        ("GET", f"/cabinet/records/{quoted}"),
        ("GET", f"/cabinet/records/{quoted}/pages/1.png?v={quoted}"),
        ("POST", f"/cabinet/documents/{quoted}/sign"),
        ("POST", f"/cabinet/links/{quoted}/detach"),
        ("POST", f"/cabinet/agreements/{quoted}/accept"),
        ("POST", f"/cabinet/devices/{quoted}/end"),
    ):
        res = cabinet.request(method, path, data=fields if method == "POST" else None)
        _sane(res.status_code, dict(res.headers))
        assert not res.content.startswith(b"%PDF")
        assert res.status_code != 200 or method == "POST" or "<html" in res.text
