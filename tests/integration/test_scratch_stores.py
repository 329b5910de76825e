"""Scratch stores (medsign.storage.scratch) on local disk and S3 (moto on loopback):
each group is its own store, so deleting a group's blob never touches the same bytes in
another group or in the document store; deleting is idempotent."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from medsign.settings import Settings
from medsign.storage.factory import open_blob_store
from medsign.storage.ports import BlobMissing
from medsign.storage.scratch import open_scratch, scratch_root
from tests.support.s3_server import S3TestServer


@pytest.fixture(params=["local", "s3"])
def configured(
    request: pytest.FixtureRequest, settings: Settings
) -> tuple[Settings, Callable[[], int]]:
    """Settings for one backend, and a count of what the scratch area holds."""
    if request.param == "local":
        root = settings.data_dir / "scratch" / "tests"
        return settings, lambda: sum(1 for _ in root.rglob("*")) if root.exists() else 0
    server: S3TestServer = request.getfixturevalue("s3_server")
    bucket: str = request.getfixturevalue("s3_bucket")
    s3 = settings.model_copy(
        update={"storage_url": f"s3://{bucket}/tenant", "s3_endpoint_url": server.endpoint_url}
    )
    prefix = scratch_root(s3, "tests") + "/"
    raw = server.client()
    return s3, lambda: raw.list_objects_v2(Bucket=bucket, Prefix=prefix).get("KeyCount", 0)


def test_a_group_is_deleted_alone(configured: tuple[Settings, Callable[[], int]]) -> None:
    settings, count = configured
    data = b"the same bytes in two groups and in the document store"
    a, b = open_scratch(settings, "tests", "group-a"), open_scratch(settings, "tests", "group-b")
    documents = open_blob_store(settings)
    digest = a.put(data)
    assert b.put(data) == documents.put(data) == digest
    a.delete(digest)
    a.delete(digest)  # idempotent
    with pytest.raises(BlobMissing):
        a.get(digest)
    assert b.get(digest) == data and documents.get(digest) == data
    assert count() > 0
    b.delete(digest)
    assert count() == 0  # nothing left, not even an empty directory


@pytest.mark.parametrize("name", ["", "..", "../files", "a/b", "A" * 3, "x" * 65])
def test_names_cannot_escape_the_area(settings: Settings, name: str) -> None:
    with pytest.raises(ValueError, match="scratch"):
        open_scratch(settings, "tests", name)
    with pytest.raises(ValueError, match="scratch"):
        open_scratch(settings, name, "group")
