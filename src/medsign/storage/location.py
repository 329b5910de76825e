"""``MEDSIGN_STORAGE_URL``: where documents are stored (shared/API.md "Load and scale-out").

Unset or empty: files under the data dir. ``s3://bucket`` or ``s3://bucket/prefix``:
S3-compatible object storage; the bucket name follows the S3 naming rules (3-63
characters of lowercase letters, digits, dots and hyphens, starting and ending with a
letter or digit), which MinIO and other S3-compatible servers enforce too.
Credentials never go in the URL: boto3 reads them from ``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY`` (or its other usual sources).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IPV4 = re.compile(r"\d+\.\d+\.\d+\.\d+")


@dataclass(frozen=True)
class S3Location:
    """A bucket and a key prefix ("" or without leading/trailing slashes)."""

    bucket: str
    prefix: str = ""

    def key(self, sha256: str) -> str:
        """The object key of a blob: ``<prefix>/<sha[:2]>/<sha>``."""
        tail = f"{sha256[:2]}/{sha256}"
        return f"{self.prefix}/{tail}" if self.prefix else tail

    @property
    def url(self) -> str:
        """Back to ``s3://bucket/prefix``."""
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


def parse_storage_url(url: str | None) -> S3Location | None:
    """None for local storage, else the S3 location; ValueError saying what is wrong."""
    if url is None or not url.strip():
        return None
    parts = urlsplit(url.strip())
    if parts.scheme != "s3":
        raise ValueError(
            f"MEDSIGN_STORAGE_URL must be unset (files under the data dir) or "
            f"s3://bucket/prefix; the scheme {parts.scheme or '(none)'!r} is not supported"
        )
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "MEDSIGN_STORAGE_URL must not carry credentials; set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY instead"
        )
    if parts.query or parts.fragment:
        raise ValueError("MEDSIGN_STORAGE_URL takes no query or fragment: s3://bucket/prefix")
    bucket = parts.netloc
    if not bucket:
        raise ValueError("MEDSIGN_STORAGE_URL names no bucket: write s3://bucket/prefix")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket or _IPV4.fullmatch(bucket):
        raise ValueError(
            f"MEDSIGN_STORAGE_URL: {bucket!r} is not a valid S3 bucket name (3-63 lowercase "
            "letters, digits, dots and hyphens, starting and ending with a letter or digit)"
        )
    prefix = parts.path.strip("/")
    if any(segment in ("", ".", "..") for segment in prefix.split("/")) and prefix:
        raise ValueError(f"MEDSIGN_STORAGE_URL: the key prefix {prefix!r} has empty or dot parts")
    return S3Location(bucket=bucket, prefix=prefix)
