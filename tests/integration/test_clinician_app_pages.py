"""The clinician app's shell (/app): languages and direction, CSP without inline
script, an installable manifest, a service worker allowed the /app scope, icons."""

from __future__ import annotations

import io
import json
import re

import pytest
from fastapi.testclient import TestClient
from PIL import Image


@pytest.mark.parametrize(
    ("lang", "direction", "heading"),
    [
        ("en", "ltr", "Clinician app"),
        ("ru", "ltr", "Приложение врача"),
        ("fa", "rtl", "برنامه پزشک"),
    ],
)
def test_the_app_shell_speaks_each_language(
    client: TestClient, lang: str, direction: str, heading: str
) -> None:
    res = client.get(f"/app?lang={lang}")
    assert res.status_code == 200
    assert f'<html lang="{lang}" dir="{direction}">' in res.text
    assert f"<h1>{heading}</h1>" in res.text
    assert f'href="/app/manifest.webmanifest?lang={lang}"' in res.text
    texts = json.loads(
        re.search(
            r'<script type="application/json" id="app-texts">(.*?)</script>', res.text, re.S
        ).group(1)  # type: ignore[union-attr]
    )
    assert texts["app_title"] == heading
    assert "{workplace}" in texts["app_lost_text"]


def test_the_shell_runs_no_inline_script_and_is_never_cached(client: TestClient) -> None:
    res = client.get("/app?enroll=secret-token")
    csp = res.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    for tag in re.findall(r"<script[^>]*>", res.text):
        assert 'src="/static/' in tag or 'type="application/json"' in tag, tag
    assert "secret-token" not in res.text  # the token stays in the browser
    assert res.headers["cache-control"] == "private, no-store"
    assert "http://" not in res.text.replace("http://testserver", "")  # nothing external


def test_the_manifest_makes_an_installable_app(client: TestClient) -> None:
    res = client.get("/app/manifest.webmanifest?lang=fa")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("application/manifest+json")
    manifest = res.json()
    assert manifest["display"] == "standalone"
    assert manifest["scope"] == "/app" and manifest["start_url"] == "/app?lang=fa"
    assert manifest["dir"] == "rtl" and manifest["lang"] == "fa"
    sizes = set()
    for icon in manifest["icons"]:
        got = client.get(icon["src"])
        assert got.status_code == 200, icon
        if icon["type"] == "image/png":
            with Image.open(io.BytesIO(got.content)) as image:
                assert f"{image.width}x{image.height}" == icon["sizes"]
                sizes.add(image.width)
    assert {192, 512} <= sizes  # what browsers require to offer installation


def test_the_service_worker_may_control_the_app_and_caches_only_the_shell(
    client: TestClient,
) -> None:
    res = client.get("/app/sw.js")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/javascript")
    assert res.headers["service-worker-allowed"] == "/app"
    assert res.headers["cache-control"] == "no-cache"
    shell = re.search(r"const SHELL = \[(.*?)\];", res.text, re.S)
    assert shell is not None
    listed = re.findall(r'"([^"]+)"', shell.group(1))
    assert not [path for path in listed if path.startswith(("/device", "/api", "/s/"))]
    for path in listed:
        assert client.get(path).status_code == 200, path
