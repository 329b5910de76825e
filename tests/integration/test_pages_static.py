"""Page weight and headers: small, compressed, locked down."""

from __future__ import annotations

import gzip

from fastapi.testclient import TestClient

from medsign.runtime import Runtime
from tests.support.api import create_envelope, new_org, upload
from tests.support.pages import path_of


def test_static_assets_are_gzipped_and_cacheable(client: TestClient) -> None:
    res = client.get("/static/pdfjs/pdf.min.mjs", headers={"Accept-Encoding": "gzip"})
    assert res.status_code == 200
    assert res.headers["content-encoding"] == "gzip"
    assert res.headers["content-type"].startswith("text/javascript")
    wire = len(gzip.compress(res.content))  # what travelled, near enough
    assert wire < 170_000
    again = client.get("/static/pdfjs/pdf.min.mjs", headers={"If-None-Match": res.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/static/../settings.py").status_code == 404
    assert client.get("/static/nope.js").status_code == 404


def test_signing_page_is_light_and_locked_down(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    doc = upload(client, headers)
    env = create_envelope(client, headers, doc["id"])
    res = client.get(path_of(env["signers"][0]["signing_url"]) + "?lang=fa")
    assert res.status_code == 200
    assert '<html lang="fa" dir="rtl">' in res.text
    csp = res.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert res.headers["referrer-policy"] == "no-referrer"
    assert "http://" not in res.text.replace("http://testserver", "")  # nothing external
    page_weight = len(res.content)
    assert "/static/pdfjs/" not in res.text  # pdf.js waits for the zoom button
    for asset in ("/static/app.css", "/static/sign.js", "/static/viewer.js"):
        asset_res = client.get(asset, headers={"Accept-Encoding": "gzip"})
        page_weight += len(gzip.compress(asset_res.content))
    assert page_weight < 200_000  # DESIGN.md: under 200 KB before the PDF


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
    spec = client.get("/openapi.json").json()
    for path in ("/api/v1/documents", "/api/v1/envelopes", "/api/v1/envelopes/{envelope_id}/void"):
        assert path in spec["paths"]


def test_api_docs_page_needs_no_internet(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "/static/swagger/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200


def test_dev_outbox_shows_codes_only_in_dev_mode_and_locally(
    client: TestClient, rt: Runtime
) -> None:
    from medsign.web.app import create_app
    from tests.support.pages import request_code
    from tests.support.worker import drain

    _, headers = new_org(rt)
    doc = upload(client, headers)
    env = create_envelope(client, headers, doc["id"])
    request_code(client, path_of(env["signers"][0]["signing_url"]))
    drain(rt)
    assert client.get("/dev/outbox").status_code == 404  # off unless enabled
    rt.settings.enable_dev_outbox = True  # what `medsign serve --demo` sets
    page = client.get("/dev/outbox")
    assert page.status_code == 200 and "+79991234567" in page.text
    listed = client.get("/dev/outbox", headers={"Accept": "application/json"}).json()
    assert any(m["to"] == "+79991234567" and "/s/" in m["body"] for m in listed)
    with TestClient(create_app(runtime=rt, migrate=False), client=("203.0.113.5", 4000)) as far:
        assert far.get("/dev/outbox").status_code == 404  # never to another machine
    for header in ("Forwarded", "X-Forwarded-For", "X-Real-IP", "Via"):  # nor via a proxy
        assert client.get("/dev/outbox", headers={header: "for=203.0.113.5"}).status_code == 404
    rt.settings.sms_url = "http://127.0.0.1:9/"  # a real channel is configured
    assert client.get("/dev/outbox").status_code == 404
