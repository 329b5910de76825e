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

The cache is kept under ``max_bytes`` (``MEDSIGN_PAGE_IMAGE_CACHE_MB``; 0: no limit) by
:meth:`PageImages.prune`, least recently used documents first: serving an image from
the cache touches its mtime, so a document's last use is the newest mtime of its files.
A prune starts in the background after a process has written an eighth of the limit
(and after its first write), and brings the cache down to 90 % of the limit so it does
not run again at once. A document is removed under its lock, so it is never removed
while it is being drawn; a lock file that was removed while someone waited for it is
noticed (its link count is 0) and taken again. A reader whose image was just removed
simply draws it again.
"""

from __future__ import annotations

import contextlib
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
LOW_WATER = 0.9  # a prune brings the cache down to this share of the limit
PRUNE_EVERY = 8  # ... and starts again after a process wrote 1/8 of the limit


@dataclass(frozen=True)
class Pruned:
    """What one prune found and did (bytes of the cache's files)."""

    before: int
    after: int
    documents_removed: int


@dataclass
class _Entry:
    folder: Path
    size: int
    last_use: float


@dataclass(frozen=True)
class PageImage:
    """One drawn page: its bytes, media type and entity tag (RFC 9110 §8.8.3)."""

    data: bytes
    media_type: str
    etag: str


class PageImages:
    """Draws document pages with PDFium and keeps the images under ``root``."""

    def __init__(self, files: BlobStore, root: Path, max_bytes: int = 0) -> None:
        self.files = files
        self.root = root
        self.max_bytes = max_bytes  # 0: no limit
        self.renders = 0  # pages drawn by this object (figures and tests)
        self._count_lock = threading.Lock()
        self._pruning = threading.Lock()  # one prune at a time per object
        self._written = max_bytes  # so the first write prunes (a limit lowered at restart)

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
        if data is not None:
            _touch(path)  # used now: the last to be pruned
            return PageImage(data, MEDIA_TYPES[fmt], etag)
        with self._locked(sha256):
            data = _read(path)  # drawn by whoever held the lock before us
            if data is None:
                data = render_page(self.files.get(sha256), number, width, fmt)
                _write(path, data)
                with self._count_lock:
                    self.renders += 1
                    self._written += len(data)
        self._maybe_prune()
        return PageImage(data, MEDIA_TYPES[fmt], etag)

    def prune(self) -> Pruned:
        """Remove least recently used documents' images until the cache holds at most
        90 % of ``max_bytes`` (nothing when it holds no more than ``max_bytes``, or when
        there is no limit). A document being drawn right now is skipped."""
        entries = self._entries()
        before = total = sum(e.size for e in entries)
        removed = 0
        if self.max_bytes <= 0 or total <= self.max_bytes:
            return Pruned(before, total, 0)
        for entry in sorted(entries, key=lambda e: e.last_use):
            if total <= self.max_bytes * LOW_WATER:
                break
            if _remove_document(entry.folder):
                total -= entry.size
                removed += 1
        return Pruned(before, total, removed)

    def _maybe_prune(self) -> None:
        """Start a prune in the background once enough was written since the last."""
        if self.max_bytes <= 0 or self._written < self.max_bytes // PRUNE_EVERY:
            return
        if not self._pruning.acquire(blocking=False):
            return  # one is running
        self._written = 0

        def run() -> None:
            try:
                self.prune()
            except Exception:  # the next write tries again
                log.warning("pruning the page image cache failed", exc_info=True)
            finally:
                self._pruning.release()

        threading.Thread(target=run, name="page-cache-prune", daemon=True).start()

    def _entries(self) -> list[_Entry]:
        """Every cached document's folder, size and last use; folders removed while
        they are listed (by another prune) are skipped."""
        entries = []
        for prefix in _subdirs(self.root):
            for folder in _subdirs(prefix):
                size, last_use = 0, 0.0
                for item in _files(folder):
                    with contextlib.suppress(FileNotFoundError):
                        st = item.stat()
                        size += st.st_size
                        last_use = max(last_use, st.st_mtime)
                entries.append(_Entry(folder, size, last_use))
        return entries

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
        fd = _lock(self._dir(sha256), blocking=True)
        assert fd is not None
        try:
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock


def _lock(folder: Path, *, blocking: bool) -> int | None:
    """An open descriptor of ``folder/.lock`` holding its exclusive flock (the folder
    created if need be); None when not ``blocking`` and someone else holds it.

    A prune removes a document's folder while holding this lock; whoever was waiting
    then holds a lock on a removed file (link count 0) and takes it again afresh."""
    while True:
        try:
            if blocking:
                folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(folder / ".lock", os.O_RDWR | (os.O_CREAT if blocking else 0), 0o600)
        except (FileNotFoundError, FileExistsError):
            # a prune removed the folder between mkdir and open (or between mkdir's
            # own EEXIST and its is_dir check, which then raises FileExistsError)
            if not blocking:
                return None  # removed meanwhile: nothing to lock
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        if os.fstat(fd).st_nlink > 0:
            return fd
        os.close(fd)  # removed while we waited
        if not blocking:
            return None


def _remove_document(folder: Path) -> bool:
    """Remove a document's cached files and folder under its lock; False when it is
    being drawn right now (or is gone already)."""
    fd = _lock(folder, blocking=False)
    if fd is None:
        return False
    try:
        for item in folder.iterdir():
            if item.name != ".lock":
                item.unlink(missing_ok=True)
        (folder / ".lock").unlink()
        with contextlib.suppress(OSError):  # not empty: a new lock file came meanwhile
            folder.rmdir()
            folder.parent.rmdir()  # not empty: other documents share the prefix
    finally:
        os.close(fd)
    return True


def _subdirs(folder: Path) -> list[Path]:
    try:
        with os.scandir(folder) as it:
            return [Path(e.path) for e in it if e.is_dir(follow_symlinks=False)]
    except (FileNotFoundError, NotADirectoryError):
        return []


def _files(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as it:
            return [e for e in it if e.name != ".lock" and e.is_file(follow_symlinks=False)]
    except (FileNotFoundError, NotADirectoryError):
        return []


def _touch(path: Path) -> None:
    """Mark ``path`` as used now (its mtime); it may have been pruned meanwhile."""
    with contextlib.suppress(FileNotFoundError):
        os.utime(path)


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
