"""Content-addressed blob store on local disk (the embedded default).

Files are named by their SHA-256 under ``<root>/<sha[:2]>/<sha>``, written to a temp
name, fsynced and renamed into place (rename is atomic, POSIX.1-2017 rename()), so a
crash never leaves a half-written file under a real name, and writing the same bytes
twice is harmless (idempotent jobs). Reads are checked against the name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from medsign.storage.ports import (
    BlobCorrupted,
    BlobMissing,
    StorageUnavailableError,
    check_digest,
)


class FileStore:
    """Stores and returns immutable blobs by SHA-256 hex under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / check_digest(sha256)

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its SHA-256 hex."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if path.exists():
            return digest
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        except OSError as exc:
            raise StorageUnavailableError(f"cannot write under {self.root}: {exc}") from exc
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            Path(tmp).replace(path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise StorageUnavailableError(f"cannot write under {self.root}: {exc}") from exc
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str) -> bytes:
        """Return the bytes stored under ``sha256``, checked against it."""
        try:
            data = self._path(sha256).read_bytes()
        except FileNotFoundError:
            raise BlobMissing(sha256) from None
        except OSError as exc:
            raise StorageUnavailableError(f"cannot read under {self.root}: {exc}") from exc
        if hashlib.sha256(data).hexdigest() != sha256:
            raise BlobCorrupted(sha256)
        return data

    def exists(self, sha256: str) -> bool:
        """True when a file is stored under ``sha256``."""
        return self._path(sha256).is_file()

    def delete(self, sha256: str) -> None:
        """Remove the file stored under ``sha256`` (nothing there: nothing to do), then
        its directory and ``root`` when they are left empty. Only for scratch stores
        (:mod:`medsign.storage.scratch`): documents are never deleted this way."""
        path = self._path(sha256)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StorageUnavailableError(f"cannot delete under {self.root}: {exc}") from exc
        for directory in (path.parent, self.root):
            try:
                directory.rmdir()
            except FileNotFoundError:
                continue
            except OSError:
                break  # not empty (another file, or a put in progress): kept
