"""Document storage: content-addressed blobs on local disk or in S3-compatible storage.

``medsign.storage.factory.open_blob_store`` picks the backend from the settings
(``MEDSIGN_STORAGE_URL``).
"""

from __future__ import annotations

from medsign.storage.files import FileStore
from medsign.storage.ports import (
    BlobCorrupted,
    BlobMissing,
    BlobStore,
    StorageError,
    StorageUnavailableError,
)

__all__ = [
    "BlobCorrupted",
    "BlobMissing",
    "BlobStore",
    "FileStore",
    "StorageError",
    "StorageUnavailableError",
]
