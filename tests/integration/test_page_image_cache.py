"""The page image cache stays under its limit (MEDSIGN_PAGE_IMAGE_CACHE_MB,
docs/operations.md): least recently used documents go first, a hit counts as a use, and
pruning while pages are drawn and served (threads, a second cache object over the same
directory as a second process, real HTTP requests) never fails a request: a pruned
image is drawn again. SQLite and PostgreSQL for the HTTP case."""

from __future__ import annotations

import os
import threading
import time
import traceback
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from medsign.documents.page_images import PRUNE_EVERY, PageImages
from medsign.runtime import Runtime
from medsign.storage.files import FileStore
from medsign.web.app import create_app
from tests.support.api import create_envelope, new_org, upload
from tests.support.pages import path_of
from tests.support.pdfs import make_pdf, make_text_pdf
from tests.support.threaded import serve_in_thread


def _cache_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _folder(images: PageImages, sha256: str) -> Path:
    return images.root / sha256[:2] / sha256


def _documents(tmp_path: Path, count: int, pages: int = 1) -> tuple[FileStore, list[str]]:
    files = FileStore(tmp_path / "files")
    return files, [files.put(make_text_pdf(pages=pages, lines=58 - n)) for n in range(count)]


def _used_at(images: PageImages, sha256: str, when: float) -> int:
    """Set every file of the document as last used at ``when``; its size in bytes."""
    size = 0
    for path in _folder(images, sha256).iterdir():
        if path.name != ".lock":
            os.utime(path, (when, when))
            size += path.stat().st_size
    return size


def test_least_recently_used_documents_go_first(tmp_path: Path) -> None:
    files, (a, b, c) = _documents(tmp_path, 3)
    images = PageImages(files, tmp_path / "cache")  # no limit while filling
    for sha in (a, b, c):
        images.image(sha, 1, 960)
    t0 = time.time() - 3600
    size_a, size_b, size_c = (_used_at(images, s, t0 + i * 60) for i, s in enumerate((a, b, c)))
    images.image(a, 1, 960)  # a hit: a is now the most recently used
    assert images.renders == 3
    assert images.prune().documents_removed == 0  # no limit: nothing goes
    # A limit that one document more than the two kept would overflow.
    images.max_bytes = int((size_a + size_c) / 0.9) + 1
    assert size_a + size_b + size_c > images.max_bytes
    pruned = images.prune()
    assert pruned.documents_removed == 1 and pruned.after <= images.max_bytes
    assert not _folder(images, b).exists()  # the least recently used, not a (older render)
    assert _folder(images, a).exists() and _folder(images, c).exists()
    assert _cache_bytes(images.root) == pruned.after
    # a pruned page is simply drawn again
    assert images.image(b, 1, 960).data.startswith(b"RIFF")
    assert images.renders == 4


def test_writes_start_a_prune_in_the_background(tmp_path: Path) -> None:
    files, shas = _documents(tmp_path, 6)
    probe = PageImages(files, tmp_path / "probe")
    one = len(probe.image(shas[0], 1, 960).data)
    limit = 3 * one  # room for about three documents' images
    images = PageImages(files, tmp_path / "cache", max_bytes=limit)
    for sha in shas:
        images.image(sha, 1, 960)
        time.sleep(0.01)  # distinct mtimes: the order of use
    deadline = time.monotonic() + 30
    while _cache_bytes(images.root) > limit + limit // PRUNE_EVERY + 2 * one:
        assert time.monotonic() < deadline, _cache_bytes(images.root)
        time.sleep(0.05)
    with images._pruning:  # wait for a prune still running
        pass
    assert _folder(images, shas[-1]).exists()  # the newest stays
    assert not _folder(images, shas[0]).exists()  # the oldest went


def test_pruning_while_drawing_and_reading_never_fails(tmp_path: Path) -> None:
    files, shas = _documents(tmp_path, 3, pages=2)
    reference = PageImages(files, tmp_path / "reference")
    want = {(s, n): reference.image(s, n, 960).data for s in shas for n in (1, 2)}
    root = tmp_path / "cache"
    # a limit of 1 byte: every prune removes every document not being drawn right now
    mine, twin = PageImages(files, root, max_bytes=1), PageImages(files, root, max_bytes=1)
    errors: list[BaseException] = []
    stop = threading.Event()
    start = threading.Barrier(10)

    def draw(images: PageImages, n: int) -> None:
        try:
            start.wait()
            for i in range(24):
                key = (shas[(n + i) % 3], 1 + i % 2)
                assert images.layout(key[0])
                assert images.image(*key, 960).data == want[key]
        except BaseException as exc:
            errors.append(exc)

    def prune(images: PageImages) -> None:
        try:
            start.wait()
            while not stop.is_set():
                images.prune()
        except BaseException as exc:
            errors.append(exc)

    drawers = [threading.Thread(target=draw, args=(mine if n % 2 else twin, n)) for n in range(8)]
    pruners = [threading.Thread(target=prune, args=(i,)) for i in (mine, twin)]
    for thread in [*drawers, *pruners]:
        thread.start()
    for thread in drawers:
        thread.join(120)
    stop.set()
    for thread in pruners:
        thread.join(60)
    assert not errors, [traceback.format_exception(e) for e in errors]
    assert mine.renders + twin.renders > len(want)  # pruned pages were drawn again
    mine.prune()
    assert _cache_bytes(root) == 0


def test_served_pages_survive_pruning(rt: Runtime) -> None:
    """Real parallel HTTP requests for page images while the cache is pruned to nothing."""
    app = create_app(runtime=rt, migrate=False)
    with TestClient(app) as client:
        _, headers = new_org(rt)
        doc = upload(client, headers, make_pdf(pages=2, text="Consent"))
        env = create_envelope(client, headers, doc["id"])
        path = path_of(env["signers"][0]["signing_url"])
        expected = {n: client.get(f"{path}/pages/{n}.webp?w=960").content for n in (1, 2)}
    rt.page_images.max_bytes = 1
    errors: list[BaseException] = []
    stop = threading.Event()
    barrier = threading.Barrier(7)

    with serve_in_thread(app) as base:

        def fetch(n: int) -> None:
            try:
                barrier.wait()
                for i in range(6):
                    page = 1 + (n + i) % 2
                    res = httpx.get(f"{base}{path}/pages/{page}.webp?w=960", timeout=60)
                    assert res.status_code == 200, res.text
                    assert res.content == expected[page]
            except BaseException as exc:
                errors.append(exc)

        def prune() -> None:
            barrier.wait()
            while not stop.is_set():
                rt.page_images.prune()

        fetchers = [threading.Thread(target=fetch, args=(n,)) for n in range(6)]
        pruner = threading.Thread(target=prune)
        for thread in [*fetchers, pruner]:
            thread.start()
        for thread in fetchers:
            thread.join(120)
        stop.set()
        pruner.join(60)
    assert not errors, [traceback.format_exception(e) for e in errors]
    assert rt.page_images.renders > 2
