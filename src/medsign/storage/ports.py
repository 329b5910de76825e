"""What the rest of medsign needs from document storage, and how storage fails.

Blobs are immutable and content-addressed: the key of a blob is the lowercase hex
SHA-256 (FIPS 180-4) of its bytes, so writing the same bytes twice is harmless
(jobs are retried) and a reader can check what it got back against the key.
Backends: :mod:`medsign.storage.files` (local disk) and :mod:`medsign.storage.s3`
(S3-compatible object storage); each passes tests/integration/test_blob_stores.py.

Backends raise :class:`StorageError` subclasses, never their library's own errors.
They are not domain errors on purpose: the worker retries a job on any other
exception with backoff, which is what a storage outage needs, while ``medsign.web``
maps them to problem responses (503 with ``Retry-After`` while storage is away).
"""

from __future__ import annotations

import re
from typing import Protocol

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def check_digest(sha256: str) -> str:
    """Return ``sha256`` if it is a lowercase SHA-256 hex digest, else raise ValueError."""
    if not _SHA256_HEX.fullmatch(sha256):
        raise ValueError("not a sha256 hex digest")
    return sha256


class StorageError(Exception):
    """Storage could not do what was asked. The message never holds document content."""


class StorageUnavailableError(StorageError):
    """Storage did not answer, or answered with an error that may pass (retry later)."""


class BlobMissing(StorageError, LookupError):
    """Nothing is stored under this digest (lost, or another deployment's storage)."""

    def __init__(self, sha256: str) -> None:
        super().__init__(f"no stored file with sha256 {sha256}")
        self.sha256 = sha256


class BlobCorrupted(StorageError):
    """The bytes stored under this digest no longer hash to it (damaged or replaced)."""

    def __init__(self, sha256: str) -> None:
        super().__init__(f"the stored file {sha256} does not match its sha256")
        self.sha256 = sha256


class BlobStore(Protocol):
    """Immutable blobs by SHA-256 hex. Implementations are safe to share between threads."""

    def put(self, data: bytes) -> str:
        """Store ``data`` (idempotent) and return its SHA-256 hex.

        Raises :class:`StorageUnavailableError` when storage cannot take it now.
        """
        ...

    def get(self, sha256: str) -> bytes:
        """The bytes stored under ``sha256``, checked against it.

        Raises :class:`BlobMissing`, :class:`BlobCorrupted` or
        :class:`StorageUnavailableError`; ValueError for a malformed digest.
        """
        ...

    def exists(self, sha256: str) -> bool:
        """True when something is stored under ``sha256`` (its bytes are not checked)."""
        ...
