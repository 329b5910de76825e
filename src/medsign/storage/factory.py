"""Picks the blob store named by the settings (``MEDSIGN_STORAGE_URL``)."""

from __future__ import annotations

from medsign.settings import Settings
from medsign.storage.files import FileStore
from medsign.storage.location import parse_storage_url
from medsign.storage.ports import BlobStore


def open_blob_store(settings: Settings) -> BlobStore:
    """The store ``settings`` name: S3 for ``s3://...``, else ``<data_dir>/files``.

    Builds no connection: the S3 client is made on first use, so a process starts
    (and answers 503 for documents) while storage is away.
    """
    location = parse_storage_url(settings.storage_url)
    if location is None:
        return FileStore(settings.data_dir / "files")
    from medsign.storage.s3 import S3Store  # boto3 is imported only when S3 is used

    return S3Store(location, endpoint_url=settings.s3_endpoint_url)
