"""Content-addressed file store on local disk (S3-compatible storage comes later).

Files are named by their SHA-256, written to a temp name and renamed into place, so
a crash never leaves a half-written file under a real name, and writing the same
bytes twice is harmless (idempotent jobs).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class FileStore:
    """Stores and returns immutable blobs by SHA-256 hex."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its SHA-256 hex."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str) -> bytes:
        """Return the bytes stored under ``sha256`` (FileNotFoundError if missing)."""
        return self._path(sha256).read_bytes()
