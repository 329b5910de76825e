"""Page images of stored documents, drawn once and kept on disk (docs/viewer.md).

Documents are immutable and named by their SHA-256, so an image is named by the
document's digest, the page number, the width and the format, and never goes stale:
``<root>/<sha[:2]>/<sha>/p<n>-w<width>.<fmt>``, beside ``layout.json`` (every page's
size, so a page can lay out its images before any of them arrives).

Concurrent first requests for one document draw it once: the drawing happens under an
exclusive ``flock`` (POSIX.1-2017 / BSD flock(2)) on ``<sha>/.lock``, held by one
thread of one process at a time (flock locks belong to the open file description, so
two threads of one process exclude each other too), and whoever gets the lock next
finds the file already written. Files are written to a temporary name and renamed into
place, so a reader never sees half an image. Deleting the cache directory is safe at any
time; it is filled again on demand.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from medsign.errors import NotFound
from medsign.pdf.pages import MEDIA_TYPES, PAGE_WIDTHS, PageSize, page_sizes, render_page
from medsign.storage.ports import BlobStore, check_digest

log = logging.getLogger(__name__)
# One warm-up thread per process at a time: drawing ahead must never crowd out the
# requests themselves (PDFium draws one page at a time per process anyway).
_WARMING = threading.Lock()


@dataclass(frozen=True)
class PageImage:
    """One drawn page: its bytes, media type and entity tag (RFC 9110 §8.8.3)."""

    data: bytes
    media_type: str
    etag: str


class PageImages:
    """Draws document pages with PDFium and keeps the images under ``root``."""

    def __init__(self, files: BlobStore, root: Path) -> None:
        self.files = files
        self.root = root
        self.renders = 0  # pages drawn by this object (figures and tests)
        self._count_lock = threading.Lock()

    def layout(self, sha256: str) -> list[PageSize]:
        """The displayed size of every page of document ``sha256`` (read once, then kept)."""
        path = self._dir(sha256) / "layout.json"
        cached = _read_layout(path)
        if cached is not None:
            return cached
        with self._locked(sha256):
            cached = _read_layout(path)
            if cached is None:
                cached = page_sizes(self.files.get(sha256))
                _write(path, json.dumps([[s.width, s.height] for s in cached]).encode())
            return cached

    def image(self, sha256: str, number: int, width: int, fmt: str = "webp") -> PageImage:
        """Page ``number`` (from 1) of document ``sha256``, ``width`` pixels wide.

        NotFound for a page the document does not have, a width other than
        :data:`~medsign.pdf.pages.PAGE_WIDTHS` or a format other than webp/png.
        """
        if width not in PAGE_WIDTHS or fmt not in MEDIA_TYPES:
            raise NotFound(
                f"Page images are {' or '.join(map(str, PAGE_WIDTHS))} pixels wide, "
                f"as {' or '.join(MEDIA_TYPES)}."
            )
        pages = len(self.layout(sha256))
        if not 1 <= number <= pages:
            raise NotFound(f"The document has no page {number}; it has {pages}.")
        path = self._dir(sha256) / f"p{number}-w{width}.{fmt}"
        etag = f'"{sha256[:16]}-{number}-{width}-{fmt}"'
        data = _read(path)
        if data is None:
            with self._locked(sha256):
                data = _read(path)  # drawn by whoever held the lock before us
                if data is None:
                    data = render_page(self.files.get(sha256), number, width, fmt)
                    _write(path, data)
                    with self._count_lock:
                        self.renders += 1
        return PageImage(data, MEDIA_TYPES[fmt], etag)

    def warm(self, sha256: str, number: int = 1) -> None:
        """Start drawing page ``number`` at every width in a background thread, unless
        it is drawn already or another warm-up is running in this process.

        Called when a page that shows the document is served: on a slow network its
        images are asked for a second or so later, and by then they are ready. Losing
        a warm-up costs nothing: the image request draws the page itself.
        """
        folder = self._dir(sha256)
        # Widest first: phones with 2x and 3x screens (most of them) and desktops ask for it.
        widths = sorted(PAGE_WIDTHS, reverse=True)
        missing = [w for w in widths if not (folder / f"p{number}-w{w}.webp").exists()]
        if not missing or not _WARMING.acquire(blocking=False):
            return

        def draw() -> None:
            try:
                for width in missing:
                    self.image(sha256, number, width)
            except Exception:  # the image request will draw it again and say what is wrong
                log.warning("drawing page %d of document %s ahead failed", number, sha256[:16])
            finally:
                _WARMING.release()

        threading.Thread(target=draw, name="page-warm-up", daemon=True).start()

    def _dir(self, sha256: str) -> Path:
        return self.root / sha256[:2] / check_digest(sha256)

    @contextmanager
    def _locked(self, sha256: str) -> Iterator[None]:
        folder = self._dir(sha256)
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _read_layout(path: Path) -> list[PageSize] | None:
    data = _read(path)
    if data is None:
        return None
    return [PageSize(float(w), float(h)) for w, h in json.loads(data)]


def _write(path: Path, data: bytes) -> None:
    """Write ``data`` under a temporary name and rename it into place (atomic)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
