"""The document viewer's page images on the signing page (docs/viewer.md): drawn once,
cached on disk, bounded, behind the signing link, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from medsign.documents.page_images import PageImages
from medsign.runtime import Runtime
from medsign.storage.files import FileStore
from medsign.web.app import create_app
from medsign.web.pages.viewer import PAGES_IN_HTML
from tests.support.api import create_envelope, new_org, upload
from tests.support.pages import path_of
from tests.support.pdfs import make_pdf, make_text_pdf
from tests.support.threaded import serve_in_thread

IMG = re.compile(r"<img class=\"page\"[^>]*>")


def _signing_link(
    client: TestClient, rt: Runtime, pages: int = 3, text: str = "Consent"
) -> tuple[str, str]:
    """The path of a new signing link and the SHA-256 of its document."""
    _, headers = new_org(rt)
    doc = upload(client, headers, make_pdf(pages=pages, text=text))
    env = create_envelope(client, headers, doc["id"])
    return path_of(env["signers"][0]["signing_url"]), str(doc["sha256"])


def _signing_path(client: TestClient, rt: Runtime, pages: int = 3, text: str = "Consent") -> str:
    return _signing_link(client, rt, pages, text)[0]


def _images(html: str) -> list[dict[str, str]]:
    return [dict(re.findall(r'([a-z-]+)="([^"]*)"', tag)) for tag in IMG.findall(html)]


def _decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_the_signing_page_lays_out_page_images_before_any_script(
    client: TestClient, rt: Runtime
) -> None:
    path = _signing_path(client, rt, pages=3)
    html = client.get(path + "?lang=en").text
    images = _images(html)
    assert [i["alt"] for i in images] == [f"Page {n} of 3" for n in (1, 2, 3)]
    # A4 (595 x 842 pt) at 480 px: the box is reserved, nothing jumps when images arrive.
    assert {(i["width"], i["height"]) for i in images} == {("480", "679")}
    assert "loading" not in images[0] and images[0]["fetchpriority"] == "high"
    assert all(i["loading"] == "lazy" for i in images[1:])
    assert all(" 960w" in i["srcset"] for i in images)
    assert "pdf.min.mjs" not in html  # pdf.js only on request
    assert "user-scalable" not in html and "maximum-scale" not in html  # pinch-zoom works
    fa = client.get(path + "?lang=fa").text
    assert _images(fa)[1]["alt"] == "صفحه 2 از 3"


def test_a_long_document_lists_its_later_pages_compactly(client: TestClient, rt: Runtime) -> None:
    path = _signing_path(client, rt, pages=PAGES_IN_HTML + 5)
    html = client.get(path + "?lang=ru").text
    assert len(_images(html)) == PAGES_IN_HTML
    assert 'data-more="480x679*5"' in html
    assert f'data-label="Страница {{n}} из {PAGES_IN_HTML + 5}"' in html
    assert f"Страницы {PAGES_IN_HTML + 1}–{PAGES_IN_HTML + 5}" in html  # without JavaScript
    pattern = re.search(r'data-src="([^"]+)"', html)
    assert pattern is not None
    last = pattern[1].replace("&amp;", "&").replace("{n}", str(PAGES_IN_HTML + 5)) + "960"
    assert client.get(last).status_code == 200
    short = client.get(_signing_path(client, rt, pages=2)).text
    assert "data-more" not in short and "<noscript>" not in short


def test_a_page_image_is_an_immutable_webp_of_that_page(client: TestClient, rt: Runtime) -> None:
    path = _signing_path(client, rt, pages=2)
    src = _images(client.get(path).text)[0]["src"].replace("&amp;", "&")
    res = client.get(src)
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == "image/webp"
    assert res.headers["cache-control"] == "private, max-age=31536000, immutable"
    image = _decode(res.content)
    assert image.format == "WEBP" and image.size == (480, 679)
    darkest, _ = image.convert("L").getextrema()
    assert isinstance(darkest, int) and darkest < 64  # the text is drawn, not a blank page
    assert client.get(src, headers={"If-None-Match": res.headers["etag"]}).status_code == 304
    large = client.get(src.replace("w=480", "w=960"))
    assert _decode(large.content).size == (960, 1359)
    png = client.get(src.replace("1.webp", "2.png"))
    assert png.headers["content-type"] == "image/png" and _decode(png.content).format == "PNG"
    current = client.get(f"{path}/pages/1.webp")  # no version: revalidated each time
    assert current.status_code == 200 and current.headers["cache-control"] == "private, no-cache"


@pytest.mark.parametrize(
    "tail",
    [
        "pages/0.webp",
        "pages/3.webp",  # the document has 2 pages
        "pages/999999.webp",
        "pages/1234567890123.webp",
        "pages/-1.webp",
        "pages/one.webp",
        "pages/1.gif",
        "pages/1.webp?w=500",  # not a width pages are drawn at
        "pages/1.webp?w=99999",
        "pages/1.webp?w=" + "9" * 5000,
        "pages/1.webp?w=%C2%B2",
        "pages/1.webp?v=0000000000000000",  # an earlier (or another) revision
    ],
)
def test_bad_page_requests_are_404_problems(client: TestClient, rt: Runtime, tail: str) -> None:
    path = _signing_path(client, rt, pages=2)
    res = client.get(f"{path}/{tail}")
    assert res.status_code == 404, (tail, res.status_code, res.text)
    assert res.headers["content-type"] == "application/problem+json"
    assert rt.page_images.renders == 0


def test_another_links_document_is_not_reachable(client: TestClient, rt: Runtime) -> None:
    mine = _signing_path(client, rt, text="Mine")
    theirs = _signing_path(client, rt, text="Theirs")
    their_src = _images(client.get(theirs).text)[0]["src"].replace("&amp;", "&")
    their_version = their_src.split("v=")[1].split("&")[0]
    # Their version on my link names no image of mine, and never theirs.
    assert client.get(f"{mine}/pages/1.webp?v={their_version}").status_code == 404
    mine_image = client.get(f"{mine}/pages/1.webp").content
    assert mine_image != client.get(their_src).content
    unknown = client.get("/s/" + "A" * 43 + "/pages/1.webp")  # as for the PDF: a dead link
    assert unknown.status_code == 410 and unknown.headers["content-type"].startswith("text/html")
    # A closed link shows no page either (as for the PDF itself).
    _, headers = new_org(rt, "Clinic Two")
    doc = upload(client, headers)
    env = create_envelope(client, headers, doc["id"])
    voided = path_of(env["signers"][0]["signing_url"])
    assert client.get(f"{voided}/pages/1.webp").status_code == 200
    client.post(f"/api/v1/envelopes/{env['id']}/void", headers=headers, json={"reason": "x"})
    closed = client.get(f"{voided}/pages/1.webp")
    assert closed.status_code == 410 and "no-store" in closed.headers["cache-control"]


def test_pages_are_drawn_once_and_kept_on_disk(client: TestClient, rt: Runtime) -> None:
    path = _signing_path(client, rt, pages=2)
    first = client.get(f"{path}/pages/2.webp?w=960")
    assert rt.page_images.renders == 1
    assert client.get(f"{path}/pages/2.webp?w=960").content == first.content
    assert rt.page_images.renders == 1
    cached = sorted(p.name for p in rt.page_images.root.rglob("p*.webp"))
    assert cached == ["p2-w960.webp"]
    # Another process over the same directory finds the image without drawing it.
    other = PageImages(rt.files, rt.page_images.root)
    sha256 = next(rt.page_images.root.glob("*/*")).name
    assert len(sha256) == 64
    assert other.image(sha256, 2, 960).data == first.content and other.renders == 0


def test_concurrent_first_requests_draw_a_page_once(rt: Runtime) -> None:
    """Real parallel HTTP requests (uvicorn, threads) on each database; plus a second
    cache object over the same directory, as a second process would have."""
    app = create_app(runtime=rt, migrate=False)
    with TestClient(app) as client:
        path, sha256 = _signing_link(client, rt, pages=1)
    twin = PageImages(rt.files, rt.page_images.root)
    results: list[bytes] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(9)

    with serve_in_thread(app) as base:

        def fetch() -> None:
            try:
                barrier.wait()
                res = httpx.get(f"{base}{path}/pages/1.webp?w=960", timeout=30)
                assert res.status_code == 200, res.text
                results.append(res.content)
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        def direct() -> None:
            barrier.wait()
            results.append(twin.image(sha256, 1, 960).data)

        client_threads = [threading.Thread(target=fetch) for _ in range(8)]
        for thread in client_threads:
            thread.start()
        direct_thread = threading.Thread(target=direct)
        direct_thread.start()
        for thread in [*client_threads, direct_thread]:
            thread.join(60)
    assert not errors, errors
    assert len(results) == 9 and len(set(results)) == 1
    assert rt.page_images.renders + twin.renders == 1


def test_opening_the_page_draws_the_first_page_ahead(client: TestClient, rt: Runtime) -> None:
    path = _signing_path(client, rt, pages=2)
    client.get(path)  # the warm-up thread starts drawing page 1 at both widths
    deadline = time.monotonic() + 30
    while rt.page_images.renders < 2:
        assert time.monotonic() < deadline, rt.page_images.renders
        time.sleep(0.05)
    for width in (480, 960):
        assert client.get(f"{path}/pages/1.webp?w={width}").status_code == 200
    assert rt.page_images.renders == 2  # served from what was drawn ahead
    client.get(path)
    time.sleep(0.2)
    assert rt.page_images.renders == 2  # drawn already: no second warm-up


def test_the_page_still_opens_while_the_document_cannot_be_read(
    client: TestClient, rt: Runtime
) -> None:
    path, sha256 = _signing_link(client, rt, pages=2)
    stored = rt.settings.data_dir / "files" / sha256[:2] / sha256
    kept = stored.read_bytes()
    stored.unlink()  # as if storage were away
    page = client.get(path + "?lang=en")
    assert page.status_code == 200 and _images(page.text) == []
    assert f'href="{path}/document.pdf"' in page.text  # which says for itself what is wrong
    lost = client.get(f"{path}/pages/1.webp")
    assert lost.status_code == 500 and lost.headers["content-type"] == "application/problem+json"
    stored.write_bytes(kept)
    assert len(_images(client.get(path).text)) == 2  # nothing wrong was cached


def test_the_api_serves_page_images_of_the_organizations_own_documents(
    client: TestClient, rt: Runtime
) -> None:
    _, headers = new_org(rt)
    doc = upload(client, headers, make_pdf(pages=2))
    base = f"/api/v1/documents/{doc['id']}/pages"
    res = client.get(f"{base}/2.webp?w=960&v={doc['sha256'][:16]}", headers=headers)
    assert res.status_code == 200 and _decode(res.content).size == (960, 1359)
    assert res.headers["cache-control"] == "private, max-age=31536000, immutable"
    for bad, status in [("3.webp", 404), ("1.webp?w=500", 404), ("1.webp?w=abc", 422)]:
        answer = client.get(f"{base}/{bad}", headers=headers)
        assert answer.status_code == status, (bad, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    assert client.get(f"{base}/1.webp").status_code == 401
    _, other = new_org(rt, "Clinic Two")
    assert client.get(f"{base}/1.webp", headers=other).status_code == 404  # not theirs
    spec = client.get("/openapi.json").json()["paths"][
        "/api/v1/documents/{document_id}/pages/{name}"
    ]
    answers = spec["get"]["responses"]
    assert {"200", "401", "404", "429", "503"} <= set(answers)
    assert "image/webp" in answers["200"]["content"]


DRAW_IN_A_PROCESS = """
import sys, time
from pathlib import Path
from medsign.documents.page_images import PageImages
from medsign.storage.files import FileStore
files, cache, sha256, start = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], float(sys.argv[4])
images = PageImages(FileStore(files), cache)
time.sleep(max(0.0, start - time.time()))  # every process asks at the same moment
images.image(sha256, 1, 960)
print(images.renders)
"""


def test_processes_sharing_a_cache_draw_a_page_once(tmp_path: Path) -> None:
    """Several web processes on one machine (``medsign serve`` workers) share the cache
    directory: the flock keeps them from drawing the same page twice."""
    files = FileStore(tmp_path / "files")
    sha256 = files.put(make_text_pdf(pages=1))
    start = time.time() + 2.0  # after every interpreter has started
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    argv = [str(tmp_path / "files"), str(tmp_path / "cache"), sha256, str(start)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", DRAW_IN_A_PROCESS, *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert sum(int(out.strip()) for out, _ in outputs) == 1, outputs
    assert len(list((tmp_path / "cache").rglob("p1-w960.webp"))) == 1
