"""Content-addressed blob store in S3-compatible object storage (AWS S3, MinIO, ...).

Objects are keyed ``<prefix>/<sha[:2]>/<sha>`` (see :class:`S3Location`). A put is
skipped when the object already exists (a HEAD request), so a retried job neither
uploads again nor adds a version in a versioned bucket; threads of one process putting
the same bytes at once take turns, so one uploads and the others find it (between
processes, two uploads of the same bytes write the same object: harmless).
``Content-MD5`` (RFC 1864, which S3 checks on PutObject) guards the upload and every
get is checked against its SHA-256 (FIPS 180-4). One boto3 client per process, built on first use
(after a fork, the child builds its own): boto3 clients are thread-safe, sessions and
resources are not. Credentials and region come from boto3's usual sources
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``, ...);
``endpoint_url`` (``MEDSIGN_S3_ENDPOINT_URL``) points at a non-AWS server.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import threading
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from medsign.storage.location import S3Location
from medsign.storage.ports import (
    BlobCorrupted,
    BlobMissing,
    StorageUnavailableError,
    check_digest,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger("medsign.storage")

# A stalled server must not hold a request for long: a connection is given up after
# CONNECT_TIMEOUT seconds, a read that gets no bytes for READ_TIMEOUT seconds (a 50 MiB
# document streams far faster than that), each call tried MAX_ATTEMPTS times in all
# with botocore's "standard" retry mode (exponential backoff with jitter, retries on
# connection errors, throttling and 5xx).
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 15.0
MAX_ATTEMPTS = 3
MAX_POOL_CONNECTIONS = 32  # threads of one process sharing the client
_MISSING = frozenset({"NoSuchKey", "NotFound", "404"})


class S3Store:
    """Stores and returns immutable blobs by SHA-256 hex in one bucket under a prefix."""

    def __init__(
        self,
        location: S3Location,
        *,
        endpoint_url: str | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.location = location
        self.endpoint_url = endpoint_url or None
        self._config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            max_pool_connections=MAX_POOL_CONNECTIONS,
            # Path-style keys (http://host/bucket/key) for non-AWS servers: MinIO and
            # most others do not serve bucket subdomains.
            s3={"addressing_style": "path" if self.endpoint_url else "auto"},
            # Only the checksums S3 requires: several S3-compatible servers refuse the
            # CRC32 trailers newer botocore adds by default; we send Content-MD5 and
            # check SHA-256 ourselves.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._lock = threading.Lock()
        # One lock per first byte of the digest: same bytes -> same lock, bounded count.
        self._put_locks = [threading.Lock() for _ in range(256)]
        self._client: S3Client | None = None
        self._pid = 0

    def client(self) -> S3Client:
        """This process's boto3 client (built once per process, on first use)."""
        pid = os.getpid()
        with self._lock:
            if self._client is None or self._pid != pid:
                try:
                    self._client = boto3.session.Session().client(
                        "s3", endpoint_url=self.endpoint_url, config=self._config
                    )
                except BotoCoreError as exc:  # e.g. a malformed endpoint URL
                    raise StorageUnavailableError(f"cannot set up S3 client: {exc}") from exc
                self._pid = pid
            return self._client

    def _unavailable(self, action: str, exc: Exception) -> StorageUnavailableError:
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "?")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
            reason = f"{code} (HTTP {status})"
        else:
            reason = f"{type(exc).__name__}: {exc}"
        log.warning("S3 %s in %s failed: %s", action, self.location.url, reason)
        return StorageUnavailableError(f"S3 {action} in {self.location.url} failed: {reason}")

    def put(self, data: bytes) -> str:
        """Store ``data`` unless it is there already; return its SHA-256 hex."""
        digest = hashlib.sha256(data).hexdigest()
        with self._put_locks[int(digest[:2], 16)]:
            if self.exists(digest):
                return digest
            md5 = hashlib.md5(data, usedforsecurity=False).digest()  # RFC 1864 check
            try:
                self.client().put_object(
                    Bucket=self.location.bucket,
                    Key=self.location.key(digest),
                    Body=data,
                    ContentMD5=base64.b64encode(md5).decode(),
                    ContentType="application/octet-stream",
                )
            except (BotoCoreError, ClientError) as exc:
                raise self._unavailable("put", exc) from exc
        return digest

    def get(self, sha256: str) -> bytes:
        """Return the bytes stored under ``sha256``, checked against it."""
        key = self.location.key(check_digest(sha256))
        try:
            response = self.client().get_object(Bucket=self.location.bucket, Key=key)
            data = response["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise BlobMissing(sha256) from None
            raise self._unavailable("get", exc) from exc
        except (BotoCoreError, OSError) as exc:
            raise self._unavailable("get", exc) from exc
        if hashlib.sha256(data).hexdigest() != sha256:
            log.error("S3 object %s in %s does not match its sha256", key, self.location.url)
            raise BlobCorrupted(sha256)
        return data

    def exists(self, sha256: str) -> bool:
        """True when an object is stored under ``sha256`` (a HEAD request)."""
        key = self.location.key(check_digest(sha256))
        try:
            self.client().head_object(Bucket=self.location.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return False
            raise self._unavailable("head", exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable("head", exc) from exc
        return True

    def delete(self, sha256: str) -> None:
        """Remove the object stored under ``sha256`` (idempotent: S3 DeleteObject
        succeeds on a missing key). Only for scratch stores (:mod:`medsign.storage.scratch`)."""
        key = self.location.key(check_digest(sha256))
        try:
            self.client().delete_object(Bucket=self.location.bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable("delete", exc) from exc
