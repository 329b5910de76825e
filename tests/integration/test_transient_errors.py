"""Lost database races are retried and a missing database is a 503, never a 500."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from medsign.db.transient import Transient, classify
from medsign.runtime import Runtime
from medsign.settings import Settings
from medsign.web.app import create_app
from medsign.web.problems import install
from medsign.web.transient import TransientErrorMiddleware
from tests.support.databases import postgres_url
from tests.support.ports import free_port

needs_pg = pytest.mark.skipif(postgres_url() is None, reason="PostgreSQL does not answer")


def _real_deadlock(tmp: Path) -> DBAPIError:
    """Two PostgreSQL sessions lock two rows in opposite orders; return the victim's error."""
    url = postgres_url()
    assert url is not None
    engine = create_engine(url)
    table = f"deadlock_{free_port()}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {table} (id int primary key)"))
        conn.execute(text(f"INSERT INTO {table} VALUES (1), (2)"))  # noqa: S608
    errors: list[DBAPIError] = []
    both_in = threading.Barrier(2)

    def lock(first: int, second: int) -> None:
        try:
            with engine.begin() as conn:
                conn.execute(text(f"SELECT * FROM {table} WHERE id = {first} FOR UPDATE"))  # noqa: S608
                both_in.wait(10)
                conn.execute(text(f"SELECT * FROM {table} WHERE id = {second} FOR UPDATE"))  # noqa: S608
        except DBAPIError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=lock, args=p) for p in ((1, 2), (2, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {table}"))
    engine.dispose()
    assert len(errors) == 1, errors
    return errors[0]


@needs_pg
def test_real_errors_are_classified(tmp_path: Path) -> None:
    assert classify(_real_deadlock(tmp_path)) is Transient.RETRY
    away = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test")
    with pytest.raises(DBAPIError) as refused:
        away.connect()
    assert classify(refused.value) is Transient.UNAVAILABLE
    url = postgres_url()
    assert url is not None
    engine = create_engine(url)
    with pytest.raises(IntegrityError) as dup, engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE t (id int primary key)"))
        conn.execute(text("INSERT INTO t VALUES (1), (1)"))
    assert classify(dup.value) is None  # a bug or a conflict to report, not to retry
    engine.dispose()


def test_sqlite_busy_is_a_race(tmp_path: Path) -> None:
    path = tmp_path / "busy.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (id int)")
    holder.execute("BEGIN IMMEDIATE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.05})
    with pytest.raises(DBAPIError) as busy, engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
    assert classify(busy.value) is Transient.RETRY
    holder.rollback()
    holder.close()
    engine.dispose()


@needs_pg
def test_a_request_that_lost_a_race_runs_again(tmp_path: Path) -> None:
    deadlock = _real_deadlock(tmp_path)
    calls: list[bytes] = []
    app = FastAPI()
    install(app)
    app.add_middleware(TransientErrorMiddleware)

    @app.post("/work")
    async def work(request: Request) -> dict[str, object]:
        calls.append(await request.body())
        if len(calls) < 3:
            raise deadlock
        return {"calls": len(calls)}

    @app.post("/always")
    async def always(request: Request) -> dict[str, object]:
        await request.body()
        raise deadlock

    with TestClient(app) as client:
        res = client.post("/work", content=b"x" * 100_000)
        assert res.status_code == 200 and res.json() == {"calls": 3}
        assert calls == [b"x" * 100_000] * 3  # the body is replayed whole each time
        gave_up = client.post("/always", content=b"{}")
        assert gave_up.status_code == 503
        assert gave_up.headers["retry-after"] == "5"
        assert gave_up.json()["type"] == "/problems/service-unavailable"


@pytest.fixture
def unreachable(tmp_path: Path, keys_dir: Path) -> Iterator[TestClient]:
    """The app on a PostgreSQL URL where nothing listens."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test",
        in_process_worker=False,
        secret_key=SecretStr("test-secret-key-0123456789abcdef-0123456789"),
        _env_file=None,
    )
    rt = Runtime.build(settings)
    rt.seal_keys.root = keys_dir
    with TestClient(create_app(runtime=rt, migrate=False)) as client:
        yield client
    rt.close()


def test_database_away_is_503_with_retry_after(unreachable: TestClient) -> None:
    auth = {"Authorization": "Bearer some-token"}
    for res in (
        unreachable.get("/api/v1/envelopes", headers=auth),
        unreachable.post(
            "/api/v1/envelopes",
            headers=auth,
            json={
                "document_id": "x",
                "signers": [
                    {"role": "patient", "name": "A", "phone": "+79991234567", "method": "sms_otp"}
                ],
            },
        ),
        unreachable.get("/healthz"),
    ):
        assert res.status_code == 503, res.text
        assert res.headers["retry-after"] == "5"


def test_reads_do_not_queue_behind_a_writer(client: TestClient, rt: Runtime) -> None:
    """On SQLite a GET begins deferred: it answers while another transaction holds the
    write lock (it used to wait for it, up to the 30 s busy timeout); PostgreSQL never
    made reads wait."""
    from tests.support.api import new_org

    org_id, headers = new_org(rt)
    assert client.get("/api/v1/envelopes", headers=headers).status_code == 200  # token used
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        from medsign.audit.service import record

        with rt.transaction() as session:
            record(session, org_id, "test.hold", at=rt.clock(), actor="t")
            holding.set()
            release.wait(20)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        res = client.get("/api/v1/envelopes", headers=headers)
        took = time.monotonic() - started
    finally:
        release.set()
        t.join(20)
    assert res.status_code == 200
    assert took < 5, f"the read waited {took:.1f} s for the writer"
