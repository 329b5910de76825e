"""Scratch stores: files a job needs only until it has finished for good (the files a
console send uploads for conversion), kept apart from documents so they can be removed.

Document blobs are content-addressed and shared (the same bytes stored twice are one
blob), so no feature may delete one. A scratch store is a content-addressed store of
its own per *group* (one conversion): ``<data_dir>/scratch/<area>/<group>/`` on disk, or
``<prefix>/scratch/<area>/<group>/`` in the bucket. Deleting from one group never
touches another group's files or any document, and a file is only deleted by the job
that owns its group.
"""

from __future__ import annotations

import re
from typing import Protocol

from medsign.settings import Settings
from medsign.storage.files import FileStore
from medsign.storage.location import S3Location, parse_storage_url
from medsign.storage.ports import BlobStore

_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


class ScratchStore(BlobStore, Protocol):
    """A blob store whose blobs can be removed."""

    def delete(self, sha256: str) -> None:
        """Remove the blob stored under ``sha256`` (nothing there: nothing to do).

        Raises :class:`~medsign.storage.ports.StorageUnavailableError`.
        """
        ...


def scratch_root(settings: Settings, area: str) -> str:
    """Where ``area``'s groups live: a directory, or a key prefix in the bucket."""
    location = parse_storage_url(settings.storage_url)
    if location is None:
        return str(settings.data_dir / "scratch" / _check(area))
    return "/".join(p for p in (location.prefix, "scratch", _check(area)) if p)


def open_scratch(settings: Settings, area: str, group: str) -> ScratchStore:
    """The scratch store of ``group`` (e.g. a conversion id) in ``area`` (e.g.
    "conversions"), on the storage backend the settings name."""
    location = parse_storage_url(settings.storage_url)
    if location is None:
        return FileStore(settings.data_dir / "scratch" / _check(area) / _check(group))
    from medsign.storage.s3 import S3Store  # boto3 is imported only when S3 is used

    prefix = f"{scratch_root(settings, area)}/{_check(group)}"
    return S3Store(
        S3Location(bucket=location.bucket, prefix=prefix), endpoint_url=settings.s3_endpoint_url
    )


def _check(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a scratch area or group name: {name!r}")
    return name
