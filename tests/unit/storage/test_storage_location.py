"""``MEDSIGN_STORAGE_URL``: what is accepted, and a clear error naming the setting otherwise."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from medsign.settings import Settings
from medsign.storage.location import S3Location, parse_storage_url

SHA = "ab" + "0" * 62


@pytest.mark.parametrize("url", [None, "", "  "])
def test_unset_means_local_files(url: str | None) -> None:
    assert parse_storage_url(url) is None


@pytest.mark.parametrize(
    ("url", "bucket", "prefix", "key"),
    [
        ("s3://medsign", "medsign", "", f"ab/{SHA}"),
        ("s3://medsign/", "medsign", "", f"ab/{SHA}"),
        ("S3://medsign", "medsign", "", f"ab/{SHA}"),  # RFC 3986 §3.1: scheme is caseless
        ("s3://clinic.docs-1/prod", "clinic.docs-1", "prod", f"prod/ab/{SHA}"),
        ("s3://abc/prod/documents/", "abc", "prod/documents", f"prod/documents/ab/{SHA}"),
    ],
)
def test_s3_urls(url: str, bucket: str, prefix: str, key: str) -> None:
    location = parse_storage_url(url)
    assert location == S3Location(bucket=bucket, prefix=prefix)
    assert location.key(SHA) == key
    assert parse_storage_url(location.url) == location


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("s3://", "names no bucket"),
        ("s3:///prefix", "names no bucket"),
        ("ftp://bucket/prefix", "scheme 'ftp'"),
        ("/var/lib/medsign", "scheme '(none)'"),
        ("file:///var/lib/medsign", "scheme 'file'"),
        ("s3://Clinic_Docs", "not a valid S3 bucket name"),
        ("s3://ab", "not a valid S3 bucket name"),
        ("s3://-bucket", "not a valid S3 bucket name"),
        ("s3://bucket..x", "not a valid S3 bucket name"),
        ("s3://192.168.1.10", "not a valid S3 bucket name"),
        ("s3://key:secret@bucket/p", "must not carry credentials"),
        ("s3://bucket/p?versioning=1", "no query"),
        ("s3://bucket/a//b", "empty or dot parts"),
        ("s3://bucket/a/../b", "empty or dot parts"),
    ],
)
def test_bad_urls_are_refused_naming_the_setting(url: str, says: str) -> None:
    with pytest.raises(ValueError, match="MEDSIGN_STORAGE_URL") as caught:
        parse_storage_url(url)
    assert says in str(caught.value)


def test_settings_refuse_a_bad_storage_url() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(storage_url="gs://bucket/prefix", _env_file=None)
    assert "storage_url" in str(caught.value) and "MEDSIGN_STORAGE_URL" in str(caught.value)
    with pytest.raises(ValidationError, match="MEDSIGN_S3_ENDPOINT_URL"):
        Settings(storage_url="s3://bucket", s3_endpoint_url="minio:9000", _env_file=None)
    ok = Settings(
        storage_url="s3://bucket/p", s3_endpoint_url="http://127.0.0.1:9000", _env_file=None
    )
    assert ok.storage_url == "s3://bucket/p"
