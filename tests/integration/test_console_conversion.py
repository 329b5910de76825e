"""Console sends converted by a job (docs/console.md "Sending"): over the size limit (or
office files) the page answers at once and its status page polls queued -> converting
-> ready (with the envelope) or failed (with intake's reason); another organization's
conversion is 404; parallel sends each get their own job. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from medsign.console.conversion import AREA, GAVE_UP, needs_job, run_conversion
from medsign.console.models import Conversion
from medsign.documents.models import Document
from medsign.documents.service import Upload
from medsign.envelopes.models import Envelope
from medsign.jobs.outbox import JobCall
from medsign.jobs.worker import MAX_ATTEMPTS
from medsign.runtime import Runtime
from medsign.storage.files import FileStore
from medsign.storage.ports import BlobStore, StorageUnavailableError
from tests.support.api import new_org
from tests.support.console import csrf_of, new_staff
from tests.support.pdfs import make_pdf
from tests.support.threaded import serve_in_thread
from tests.support.worker import drain


def login(client: TestClient | httpx.Client, rt: Runtime, org_id: str) -> str:
    _id, email, password = new_staff(rt, org_id, "operator", email=f"op-{id(client)}@c.example")
    form = client.get("/console/login")
    res = client.post(
        "/console/login", data={"email": email, "password": password, "csrf": csrf_of(form.text)}
    )
    assert res.status_code == 303, res.text
    return csrf_of(client.get("/console/send").text)


def send(client: TestClient | httpx.Client, token: str, data: bytes, name: str = "a.pdf") -> str:
    res = client.post(
        "/console/send",
        data={"patient_name": "Сидоров Пётр", "contact": "+79990006006", "csrf": token},
        files={"files": (name, data, "application/pdf")},
    )
    assert res.status_code == 303, res.text
    location = str(res.headers["location"])
    assert location.startswith("/console/conversions/"), location
    return location


def test_which_sends_go_to_a_job() -> None:
    assert needs_job([Upload("letter.DOCX", None, b"x")], 10**9)
    assert needs_job([Upload("a.pdf", None, b"x" * 11)], 10)
    assert not needs_job([Upload("a.pdf", None, b"x" * 10)], 10)


def test_large_send_is_converted_by_a_job_and_polled(client: TestClient, rt: Runtime) -> None:
    rt.settings.console_convert_job_bytes = 1000
    org_id, _headers = new_org(rt)
    token = login(client, rt, org_id)
    location = send(client, token, make_pdf(3))
    page = client.get(location + "?lang=en")
    assert page.status_code == 200 and 'data-status="queued"' in page.text
    assert '<meta http-equiv="refresh"' in page.text  # the page polls
    assert client.get(location + "/status").json()["status"] == "queued"
    drain(rt)
    status = client.get(location + "/status").json()
    assert status["status"] == "ready" and status["reason"] is None, status
    done = client.get(location + "?lang=en").text
    assert "Ready: the document was sent." in done and '<meta http-equiv="refresh"' not in done
    assert f"/console/envelopes/{status['envelope_id']}" in done
    with rt.transaction(write=False) as session:
        env = session.get(Envelope, status["envelope_id"])
        assert env is not None and env.organization_id == org_id and env.status == "sent"
    # A retried job changes nothing (at least once delivery).
    conversion_id = location.rsplit("/", 1)[1]
    run_conversion(rt, JobCall("again", "convert", 2, {"conversion_id": conversion_id}))
    with rt.transaction(write=False) as session:
        assert len(session.scalars(select(Envelope)).all()) == 1


def test_failed_conversion_says_why(client: TestClient, rt: Runtime) -> None:
    rt.settings.console_convert_job_bytes = 10
    org_id, _headers = new_org(rt)
    token = login(client, rt, org_id)
    location = send(client, token, b"%PDF-1.7\n this is not really a PDF at all")
    drain(rt)
    status = client.get(location + "/status").json()
    assert status["status"] == "failed" and status["envelope_id"] is None
    assert status["reason"]
    page = client.get(location + "?lang=en").text
    assert "Failed: the document was not sent." in page
    assert "damaged beyond repair" in page and status["reason"].startswith("The PDF")
    # Another organization cannot see it.
    other = TestClient(client.app, follow_redirects=False)
    other_org, _h = new_org(rt, "Clinic Two")
    login(other, rt, other_org)
    assert other.get(location + "/status").status_code == 404


def test_parallel_large_sends_each_convert(client: TestClient, rt: Runtime) -> None:
    rt.settings.console_convert_job_bytes = 1000
    org_id, _headers = new_org(rt)
    with serve_in_thread(client.app) as base:  # type: ignore[arg-type]
        clients = [httpx.Client(base_url=base, timeout=60) for _ in range(2)]
        tokens = [login(c, rt, org_id) for c in clients]
        go = threading.Barrier(6)
        locations: list[str] = []

        def one(n: int) -> None:
            go.wait()
            locations.append(send(clients[n % 2], tokens[n % 2], make_pdf(2)))

        threads = [threading.Thread(target=one, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        for c in clients:
            c.close()
    assert len(set(locations)) == 6
    drain(rt)
    with rt.transaction(write=False) as session:
        rows = session.scalars(select(Conversion)).all()
        assert sorted(r.status for r in rows) == ["ready"] * 6
        assert len({r.envelope_id for r in rows}) == 6


def _left_in_area(rt: Runtime) -> list[str]:
    """Every file (or directory of a conversion) still in the conversions' scratch area."""
    area = rt.settings.data_dir / "scratch" / AREA
    return sorted(str(p.relative_to(area)) for p in area.rglob("*")) if area.exists() else []


def _conversion(rt: Runtime, location: str) -> Conversion:
    with rt.transaction(write=False) as session:
        row = session.get(Conversion, location.rsplit("/", 1)[1])
        assert row is not None
        session.expunge(row)
        return row


def test_uploaded_files_are_removed_once_converted(client: TestClient, rt: Runtime) -> None:
    rt.settings.console_convert_job_bytes = 1000
    org_id, _headers = new_org(rt)
    token = login(client, rt, org_id)
    location = send(client, token, make_pdf(3))
    row = _conversion(rt, location)
    [source] = row.sources
    assert _left_in_area(rt) != []  # the job needs its input
    assert not rt.files.exists(source["sha256"])  # not in the shared document store
    drain(rt)
    assert _left_in_area(rt) == []
    ready = _conversion(rt, location)
    assert ready.status == "ready"
    with rt.transaction(write=False) as session:
        env = session.get(Envelope, ready.envelope_id)
        assert env is not None
        doc = session.get(Document, env.document_id)
        assert doc is not None
    assert rt.files.get(doc.sha256).startswith(b"%PDF")  # the document is kept


def test_uploaded_files_are_removed_after_a_refusal(client: TestClient, rt: Runtime) -> None:
    rt.settings.console_convert_job_bytes = 10
    org_id, _headers = new_org(rt)
    token = login(client, rt, org_id)
    location = send(client, token, b"%PDF-1.7\n this is not really a PDF at all")
    assert _left_in_area(rt) != []
    drain(rt)
    assert _conversion(rt, location).status == "failed"
    assert _left_in_area(rt) == []


def _break_document_store(rt: Runtime, tmp_path: Path) -> BlobStore:
    """A document store whose directory became a plain file: every put fails with
    StorageUnavailableError (a disk that cannot take writes), a transient failure."""
    broken = FileStore(tmp_path / "broken")
    broken.root.rmdir()
    broken.root.write_bytes(b"")
    working, rt.files = rt.files, broken
    return working


def test_a_retried_conversion_keeps_its_input(
    client: TestClient, rt: Runtime, tmp_path: Path
) -> None:
    rt.settings.console_convert_job_bytes = 1000
    org_id, _headers = new_org(rt)
    token = login(client, rt, org_id)
    location = send(client, token, make_pdf(2))
    conversion_id = location.rsplit("/", 1)[1]
    working = _break_document_store(rt, tmp_path)
    with pytest.raises(StorageUnavailableError):
        run_conversion(rt, JobCall("j", "convert", 1, {"conversion_id": conversion_id}))
    assert _conversion(rt, location).status == "converting"
    left = _left_in_area(rt)
    assert left != [] and any(conversion_id in p for p in left)  # kept for the retry
    rt.files = working
    run_conversion(rt, JobCall("j", "convert", 2, {"conversion_id": conversion_id}))
    assert _conversion(rt, location).status == "ready"
    assert _left_in_area(rt) == []


def test_a_conversion_given_up_on_leaves_nothing(
    client: TestClient, rt: Runtime, tmp_path: Path
) -> None:
    rt.settings.console_convert_job_bytes = 1000
    org_id, _headers = new_org(rt)
    token = login(client, rt, org_id)
    location = send(client, token, make_pdf(2))
    conversion_id = location.rsplit("/", 1)[1]
    _break_document_store(rt, tmp_path)
    last = JobCall("j", "convert", MAX_ATTEMPTS, {"conversion_id": conversion_id})
    with pytest.raises(StorageUnavailableError):  # the worker records the job dead
        run_conversion(rt, last)
    row = _conversion(rt, location)
    assert row.status == "failed" and row.reason == GAVE_UP
    assert _left_in_area(rt) == []
    assert client.get(location + "/status").json()["status"] == "failed"
