"""Blob store benchmark: put and get latency of the local store and the S3 store.

Run ``.venv/bin/python bench/storage.py`` (``--quick`` for a short run). The S3 store
talks to moto's S3 server on loopback (tests/support/s3_server.py), so its figures are
the client's own cost plus an in-process Python server, not a real S3's; they show the
overhead of the SHA-256 check on every get and what a put/get round trip costs at
least. Each row: median milliseconds of ``put`` and ``get`` and MB/s of ``get``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from medsign.storage.files import FileStore
from medsign.storage.location import S3Location
from medsign.storage.ports import BlobStore
from medsign.storage.s3 import S3Store
from tests.support.s3_server import CREDENTIALS, S3TestServer

T = TypeVar("T")
SIZES = [("100 KB", 100 * 1024), ("1 MB", 1024 * 1024), ("10 MB", 10 * 1024 * 1024)]


def median_ms(action: Callable[[T], object], inputs: list[T]) -> float:
    """The median wall time in milliseconds of ``action`` on each of ``inputs``."""
    times = []
    for item in inputs:
        start = time.perf_counter()
        action(item)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench(name: str, store: BlobStore, runs: int) -> None:
    """Print one row per size for ``store``."""
    for label, size in SIZES:
        blobs = [os.urandom(size) for _ in range(runs)]
        put = median_ms(store.put, blobs)
        get = median_ms(store.get, [store.put(blobs[0])] * runs)
        rate = size / get / 1e3
        print(f"{name:6} {label:>7} put {put:8.2f} ms  get {get:8.2f} ms  {rate:7.0f} MB/s")


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 runs per case instead of 15")
    runs = 3 if parser.parse_args().quick else 15
    sha_ms = median_ms(hashlib.sha256, [bytes(10 * 1024 * 1024)] * runs)
    print(f"SHA-256 of 10 MB (the check every get makes): {sha_ms:.2f} ms")
    os.environ.update(CREDENTIALS)
    with tempfile.TemporaryDirectory() as tmp:
        bench("local", FileStore(Path(tmp) / "files"), runs)
    with S3TestServer() as server:
        bucket = server.new_bucket()
        bench("s3", S3Store(S3Location(bucket, "bench"), endpoint_url=server.endpoint_url), runs)


if __name__ == "__main__":
    main()
