"""A fuzzer over the public pages and forms (the API has schemathesis, in
tests/integration/test_openapi_fuzz.py): random link tokens, paths, form posts and
uploads. No answer may be a 5xx, every 429 and 503 carries Retry-After, and a random
token never reaches a document. Bounded: a few dozen examples per target, SQLite only.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medsign.runtime import Runtime
from tests.support.api import create_envelope, new_org, upload
from tests.support.pages import form_fields, path_of

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TOKEN_CHARS = st.characters(codec="utf-8", exclude_characters="/?#%\x00")
tokens = st.text(TOKEN_CHARS, min_size=0, max_size=140)
form_values = st.text(st.characters(codec="utf-8"), max_size=300)


@pytest.fixture
def site(client: TestClient, rt: Runtime, database_url: str) -> Iterator[tuple[TestClient, str]]:
    """A client, and the path of one live signing link (to post forms against)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the fuzzer runs once, on SQLite")
    rt.settings.verify_rate_per_minute = 1_000_000  # the limiter is tested elsewhere
    _, headers = new_org(rt)
    doc = upload(client, headers)
    env = create_envelope(client, headers, doc["id"])
    yield client, path_of(env["signers"][0]["signing_url"])


def _sane(res: object) -> None:
    status = getattr(res, "status_code", 0)
    headers = getattr(res, "headers", {})
    assert status < 500 or status == 503, status
    if status in (429, 503):
        assert "retry-after" in headers


@FUZZ
@given(
    token=tokens,
    suffix=st.sampled_from(["", "/document.pdf", "/signed.pdf", "/pages/1.webp"]),
)
def test_random_links_never_fail_nor_show_a_document(
    site: tuple[TestClient, str], token: str, suffix: str
) -> None:
    client, _ = site
    res = client.get(f"/s/{quote(token or 'x', safe='')}{suffix}")
    _sane(res)
    assert not res.content.startswith(b"%PDF-")


@FUZZ
@given(
    action=st.sampled_from(["code", "sign", "decline"]),
    fields=st.dictionaries(
        st.sampled_from(["csrf", "code", "lang", "reason", "shown_sha256", "other"]),
        form_values,
    ),
    keep_csrf=st.booleans(),
    json=st.booleans(),
)
def test_random_form_posts_on_a_live_link(
    site: tuple[TestClient, str],
    action: str,
    fields: dict[str, str],
    keep_csrf: bool,
    json: bool,
) -> None:
    client, path = site
    if keep_csrf:
        fields = {**fields, "csrf": form_fields(client.get(path).text).get("csrf", "")}
    headers = {"Accept": "application/json"} if json else {}
    _sane(client.post(f"{path}/{action}", data=fields, headers=headers))


@FUZZ
@given(
    document=form_values,
    code=form_values,
    upload_bytes=st.one_of(
        st.binary(max_size=2000), st.binary(max_size=500).map(lambda b: b"%PDF-1.7\n" + b)
    ),
)
def test_random_verification_requests(
    site: tuple[TestClient, str], document: str, code: str, upload_bytes: bytes
) -> None:
    client, _ = site
    _sane(client.get("/verify", params={"document": document, "code": code}))
    _sane(client.get("/api/v1/verify/requisites", params={"document_id": document, "code": code}))
    files = {"file": ("f.pdf", upload_bytes, "application/pdf")}
    _sane(client.post("/verify", files=files))
    _sane(client.post("/api/v1/verify", files=files))


@FUZZ
@given(path=st.text(TOKEN_CHARS, max_size=80), lang=form_values)
def test_random_public_paths(site: tuple[TestClient, str], path: str, lang: str) -> None:
    client, _ = site
    for base in ("/", "/verify", "/dev/outbox", "/s/"):
        _sane(client.get(f"{base}{quote(path, safe='/')}", params={"lang": lang}))


@FUZZ
@given(name=st.text(TOKEN_CHARS, min_size=1, max_size=40), width=form_values, version=form_values)
def test_random_page_images_on_a_live_link(
    site: tuple[TestClient, str], name: str, width: str, version: str
) -> None:
    client, path = site
    res = client.get(f"{path}/pages/{quote(name, safe='')}", params={"w": width, "v": version})
    _sane(res)
    assert res.status_code in (200, 404), res.status_code
