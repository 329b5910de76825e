"""One conformance suite for every blob store: local disk and S3 (moto's server on loopback).

Each case runs against both backends through the ``BlobStore`` protocol only, except
where it must reach behind the store to damage or remove what it wrote.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from medsign.storage.files import FileStore
from medsign.storage.location import S3Location
from medsign.storage.ports import BlobCorrupted, BlobMissing, BlobStore
from medsign.storage.s3 import S3Store
from tests.support.s3_server import S3TestServer


@dataclass
class Backend:
    """A store plus the back door a test needs to tamper with what it holds."""

    store: BlobStore
    overwrite: Callable[[str, bytes], None]  # replace the bytes under a digest
    remove: Callable[[str], None]
    count: Callable[[], int]  # objects (S3: object versions) stored, temp files included


def _local(tmp_path: Path) -> Backend:
    store = FileStore(tmp_path / "files")

    def overwrite(sha: str, data: bytes) -> None:
        (store.root / sha[:2] / sha).write_bytes(data)

    def remove(sha: str) -> None:
        (store.root / sha[:2] / sha).unlink()

    def count() -> int:
        return sum(1 for p in store.root.rglob("*") if p.is_file())

    return Backend(store, overwrite, remove, count)


def _s3(server: S3TestServer, bucket: str) -> Backend:
    location = S3Location(bucket=bucket, prefix="tenant-a/docs")
    store = S3Store(location, endpoint_url=server.endpoint_url)
    raw = server.client()
    # With versioning every write is kept, so ``count`` also sees rewrites of a key.
    raw.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})

    def overwrite(sha: str, data: bytes) -> None:
        raw.put_object(Bucket=bucket, Key=location.key(sha), Body=data)

    def remove(sha: str) -> None:
        raw.delete_object(Bucket=bucket, Key=location.key(sha))

    def count() -> int:
        return len(raw.list_object_versions(Bucket=bucket).get("Versions", []))

    return Backend(store, overwrite, remove, count)


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Each test runs once per backend."""
    if request.param == "local":
        return _local(tmp_path)
    server: S3TestServer = request.getfixturevalue("s3_server")
    bucket: str = request.getfixturevalue("s3_bucket")
    return _s3(server, bucket)


def test_round_trip_returns_the_same_bytes_under_their_sha256(backend: Backend) -> None:
    data = b"%PDF-1.7\n" + os.urandom(300_000)
    sha = backend.store.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert backend.store.exists(sha)
    assert backend.store.get(sha) == data
    assert backend.store.put(b"") == hashlib.sha256(b"").hexdigest()  # empty is a blob too
    assert backend.store.get(hashlib.sha256(b"").hexdigest()) == b""


def test_put_is_idempotent(backend: Backend) -> None:
    data = os.urandom(10_000)
    first = backend.store.put(data)
    assert backend.store.put(data) == first
    assert backend.count() == 1
    assert backend.store.get(first) == data


def test_missing_object_is_a_clear_error(backend: Backend) -> None:
    absent = hashlib.sha256(b"never stored").hexdigest()
    assert not backend.store.exists(absent)
    with pytest.raises(BlobMissing) as caught:
        backend.store.get(absent)
    assert caught.value.sha256 == absent
    sha = backend.store.put(b"stored, then lost")
    backend.remove(sha)
    with pytest.raises(BlobMissing):
        backend.store.get(sha)


def test_corrupted_object_is_detected(backend: Backend) -> None:
    data = b"the document as signed"
    sha = backend.store.put(data)
    backend.overwrite(sha, b"the document as changed")
    with pytest.raises(BlobCorrupted) as caught:
        backend.store.get(sha)
    assert caught.value.sha256 == sha


@pytest.mark.parametrize("digest", ["", "abc", "A" * 64, "g" * 64, "../" + "0" * 61])
def test_malformed_digests_are_refused(backend: Backend, digest: str) -> None:
    with pytest.raises(ValueError, match="sha256"):
        backend.store.get(digest)
    with pytest.raises(ValueError, match="sha256"):
        backend.store.exists(digest)


def test_concurrent_puts_of_the_same_bytes(backend: Backend) -> None:
    data = os.urandom(2 * 1024 * 1024)
    threads = 8
    barrier = threading.Barrier(threads)

    def put() -> str:
        barrier.wait()  # all threads write at the same moment
        return backend.store.put(data)

    with ThreadPoolExecutor(threads) as pool:
        digests = list(pool.map(lambda _: put(), range(threads)))
    assert set(digests) == {hashlib.sha256(data).hexdigest()}
    assert backend.count() == 1  # no temp file or second copy left behind
    assert backend.store.get(digests[0]) == data


def test_concurrent_puts_of_different_bytes(backend: Backend) -> None:
    blobs = [os.urandom(50_000) for _ in range(16)]
    with ThreadPoolExecutor(8) as pool:
        digests = list(pool.map(backend.store.put, blobs))
    assert backend.count() == len(blobs)
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(backend.store.get, digests)) == blobs
