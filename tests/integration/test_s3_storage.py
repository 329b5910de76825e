"""Documents in S3-compatible storage: the whole signing flow, and a storage outage.

moto's S3 server runs on loopback (tests/support/s3_server.py); the database is SQLite
and, where it answers, PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from medsign.documents.models import Document
from medsign.jobs.models import Job
from medsign.pdf.validate import validate_pdf
from medsign.runtime import Runtime
from medsign.settings import Settings
from medsign.storage.s3 import S3Store
from medsign.web.app import create_app
from tests.support.api import create_envelope, new_org, patient, upload
from tests.support.clock import FrozenClock
from tests.support.databases import empty_all_tables
from tests.support.pages import latest_code, path_of, press_sign, request_code
from tests.support.pdfs import make_pdf
from tests.support.s3_server import S3TestServer, use_test_credentials
from tests.support.worker import drain

PREFIX = "clinic-prod/documents"


def s3_runtime(
    settings: Settings, clock: FrozenClock, keys_dir: Path, endpoint_url: str, bucket: str
) -> Runtime:
    """A runtime whose documents go to ``s3://bucket/PREFIX`` at ``endpoint_url``."""
    s3_settings = Settings(
        **{
            **settings.model_dump(),
            "storage_url": f"s3://{bucket}/{PREFIX}",
            "s3_endpoint_url": endpoint_url,
        },
        _env_file=None,
    )
    runtime = Runtime.build(s3_settings, clock=clock)
    runtime.seal_keys.root = keys_dir  # share the session's CA
    return runtime


def bucket_keys(server: S3TestServer, bucket: str) -> set[str]:
    """Every object key in ``bucket``."""
    listing = server.client().list_objects_v2(Bucket=bucket)
    return {obj["Key"] for obj in listing.get("Contents", [])}


def sign_with_code(client: TestClient, rt: Runtime, signing_url: str) -> None:
    """Open the link, ask for a code, type it, press Sign (the seal job is queued)."""
    path = path_of(signing_url)
    assert request_code(client, path).status_code == 303
    drain(rt)
    res = press_sign(client, path, latest_code(rt, "+79991234567"))
    assert res.status_code == 303, res.text


@pytest.fixture
def s3_rt(
    settings: Settings,
    clock: FrozenClock,
    keys_dir: Path,
    database_url: str,
    s3_server: S3TestServer,
    s3_bucket: str,
) -> Iterator[Runtime]:
    """The runtime for one test, storing documents in a fresh bucket."""
    runtime = s3_runtime(settings, clock, keys_dir, s3_server.endpoint_url, s3_bucket)
    yield runtime
    runtime.close()
    empty_all_tables(database_url)


def test_signing_flow_with_documents_in_s3(
    s3_rt: Runtime, s3_server: S3TestServer, s3_bucket: str
) -> None:
    rt = s3_rt
    assert isinstance(rt.files, S3Store)
    with TestClient(create_app(runtime=rt, migrate=False), follow_redirects=False) as client:
        _, headers = new_org(rt)
        original = make_pdf(pages=2)
        doc = upload(client, headers, original)
        assert f"{PREFIX}/{doc['sha256'][:2]}/{doc['sha256']}" in bucket_keys(s3_server, s3_bucket)
        stored = client.get(f"/api/v1/documents/{doc['id']}/pdf", headers=headers)
        assert stored.status_code == 200
        assert hashlib.sha256(stored.content).hexdigest() == doc["sha256"]

        env = create_envelope(client, headers, doc["id"], patient())
        drain(rt)  # the invitation
        sign_with_code(client, rt, env["signers"][0]["signing_url"])
        drain(rt)  # the seal job reads the PDF from S3 and writes the signed one back

        state = client.get(f"/api/v1/envelopes/{env['id']}", headers=headers).json()
        assert state["status"] == "completed"
        signed = client.get(f"/api/v1/envelopes/{env['id']}/pdf", headers=headers)
        assert signed.status_code == 200
        signed_sha = hashlib.sha256(signed.content).hexdigest()
        assert signed_sha != doc["sha256"]
        assert f"{PREFIX}/{signed_sha[:2]}/{signed_sha}" in bucket_keys(s3_server, s3_bucket)
        report = validate_pdf(signed.content, rt.seal_keys.trust_roots())
        assert report.valid and len(report.signatures) == 1
        assert report.signatures[0].evidence is not None
        assert report.signatures[0].evidence["document"]["sha256_shown"] == doc["sha256"]

        verified = client.post(
            "/api/v1/verify", files={"file": ("signed.pdf", signed.content, "application/pdf")}
        )
        assert verified.status_code == 200, verified.text
        assert verified.json()["valid"] is True
        assert verified.json()["envelope_id"] == env["id"]
    # every key is content-addressed under the prefix; nothing went to the data dir
    assert all(k.startswith(f"{PREFIX}/") for k in bucket_keys(s3_server, s3_bucket))
    assert not (rt.settings.data_dir / "files").exists()


def _count(rt: Runtime, model: type[Document] | type[Job]) -> int:
    with rt.transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_storage_outage_answers_503_and_the_seal_job_waits_for_it(
    settings: Settings,
    clock: FrozenClock,
    keys_dir: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_test_credentials(monkeypatch)
    server = S3TestServer()  # its own server: this test stops it
    server.start()
    rt = s3_runtime(settings, clock, keys_dir, server.endpoint_url, server.new_bucket())
    app = create_app(runtime=rt, migrate=False)
    try:
        with TestClient(app, follow_redirects=False) as client:
            _, headers = new_org(rt)
            doc = upload(client, headers)
            env = create_envelope(client, headers, doc["id"], patient())
            drain(rt)
            sign_with_code(client, rt, env["signers"][0]["signing_url"])

            server.stop()  # storage goes away: connections are refused
            res = client.post(
                "/api/v1/documents",
                headers=headers,
                files={"files": ("second.pdf", make_pdf(pages=3), "application/pdf")},
                data={"title": "Second", "kind": "user_agreement"},
            )
            assert res.status_code == 503, res.text
            assert res.headers["content-type"].startswith("application/problem+json")
            assert int(res.headers["Retry-After"]) > 0
            assert res.json()["type"] == "/problems/storage-unavailable"
            assert _count(rt, Document) == 1  # the refused upload left no row behind
            res = client.get(f"/api/v1/documents/{doc['id']}/pdf", headers=headers)
            assert res.status_code == 503 and "Retry-After" in res.headers

            drain(rt)  # the seal job meets the outage: it fails and is queued again
            with rt.transaction() as session:
                seal = session.scalars(select(Job).where(Job.kind == "seal")).one()
                assert (seal.status, seal.attempts) == ("queued", 1)
                assert seal.last_error is not None and "S3 get" in seal.last_error
                assert seal.run_after > clock()
            state = client.get(f"/api/v1/envelopes/{env['id']}", headers=headers).json()
            assert state["status"] == "sent"

            server.start()  # back on the same port
            clock.advance(minutes=10)  # past the job's backoff
            drain(rt)
            with rt.transaction() as session:
                seal = session.scalars(select(Job).where(Job.kind == "seal")).one()
                assert (seal.status, seal.attempts) == ("done", 2)
            state = client.get(f"/api/v1/envelopes/{env['id']}", headers=headers).json()
            assert state["status"] == "completed"
            signed = client.get(f"/api/v1/envelopes/{env['id']}/pdf", headers=headers)
            assert signed.status_code == 200
            report = validate_pdf(signed.content, rt.seal_keys.trust_roots())
            assert report.valid and len(report.signatures) == 1
            original = client.get(f"/api/v1/documents/{doc['id']}/pdf", headers=headers)
            assert hashlib.sha256(original.content).hexdigest() == doc["sha256"]
            # the upload refused during the outage goes through now
            assert upload(client, headers, make_pdf(pages=3), title="Second")["pages"] == 3
    finally:
        server.stop()
        rt.close()
        empty_all_tables(database_url)


@pytest.mark.parametrize("damage", ["delete", "replace"])
def test_lost_or_damaged_object_is_a_clear_problem(
    s3_rt: Runtime, s3_server: S3TestServer, s3_bucket: str, damage: str
) -> None:
    rt = s3_rt
    with TestClient(create_app(runtime=rt, migrate=False), follow_redirects=False) as client:
        _, headers = new_org(rt)
        doc = upload(client, headers)
        key = f"{PREFIX}/{doc['sha256'][:2]}/{doc['sha256']}"
        if damage == "delete":
            s3_server.client().delete_object(Bucket=s3_bucket, Key=key)
        else:
            s3_server.client().put_object(Bucket=s3_bucket, Key=key, Body=make_pdf(pages=2))
        res = client.get(f"/api/v1/documents/{doc['id']}/pdf", headers=headers)
        assert res.status_code == 500
        body = res.json()
        assert body["type"] == "/problems/stored-file-lost"
        assert doc["sha256"] in body["detail"] and "restore" in body["detail"]
        assert "Retry-After" not in res.headers  # waiting does not bring it back
