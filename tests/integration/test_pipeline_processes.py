"""The job pipeline across processes on one PostgreSQL: two ``medsign worker``
processes never run a job twice; a job committed elsewhere wakes an idle worker at
once (LISTEN/NOTIFY); SIGTERM lets a running job finish."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from medsign.events.service import emit
from medsign.jobs.models import Job
from medsign.runtime import Runtime
from medsign.webhooks.models import WebhookDelivery
from tests.support.api import new_org
from tests.support.clock import FrozenClock
from tests.support.webhook_receiver import WebhookReceiver

MEDSIGN = [sys.executable, "-m", "medsign.cli.main"]


@pytest.fixture
def on_postgres(database_url: str) -> str:
    """Only PostgreSQL: SQLite is one process's database."""
    if not database_url.startswith("postgresql"):
        pytest.skip("several worker processes need PostgreSQL")
    return database_url


def _env(rt: Runtime, tmp: Path, database_url: str, **extra: str) -> dict[str, str]:
    secret = rt.settings.secret_key
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSIGN_")}
    env.update(
        MEDSIGN_DATA_DIR=str(tmp / "worker-data"),
        MEDSIGN_DATABASE_URL=database_url,
        MEDSIGN_SECRET_KEY=secret.get_secret_value() if secret else "",
        MEDSIGN_WEBHOOK_ALLOW_PRIVATE="true",
        MEDSIGN_WORKER_PROCESSES="0",
        **extra,
    )
    return env


@contextmanager
def _workers(
    env: dict[str, str], log: Path, *args: str, count: int = 1
) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = []
    with log.open("ab") as out:
        for _ in range(count):
            procs.append(
                subprocess.Popen([*MEDSIGN, *args], env=env, stdout=out, stderr=subprocess.STDOUT)
            )
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def _wait_for_line(log: Path, text: str, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while log.read_text(errors="replace").count(text) < count:
        if time.monotonic() > deadline:
            raise AssertionError(log.read_text(errors="replace")[-4000:])
        time.sleep(0.1)


def _subscribe(client: TestClient, headers: dict[str, str], receiver: WebhookReceiver) -> None:
    res = client.post(
        "/api/v1/webhooks", headers=headers, json={"url": receiver.url, "events": ["*"]}
    )
    assert res.status_code == 201, res.text
    receiver.secrets.append(res.json()["secret"])


def _emit(rt: Runtime, org_id: str, count: int, start: int = 0) -> None:
    with rt.transaction() as session:
        for i in range(start, start + count):
            emit(
                session,
                org_id,
                "edo_agreement.created",
                at=rt.clock(),
                data={"agreement_id": f"agr_{i}"},  # each its own delivery chain
            )


def _jobs(rt: Runtime) -> list[Job]:
    with rt.transaction() as session:
        return list(session.scalars(select(Job)))


def test_two_worker_processes_never_run_a_job_twice(
    client: TestClient, rt: Runtime, clock: FrozenClock, tmp_path: Path, on_postgres: str
) -> None:
    clock.now = datetime.now(UTC)  # the worker processes run on the real clock
    rt.settings.webhook_allow_private = True
    org_id, headers = new_org(rt)
    log = tmp_path / "workers.log"
    with WebhookReceiver() as receiver:
        _subscribe(client, headers, receiver)
        _emit(rt, org_id, 100)  # 100 fan-out jobs, then 100 deliveries
        env = _env(rt, tmp_path, on_postgres, MEDSIGN_WORKER_POLL_SECONDS="0.2")
        with _workers(env, log, "worker", "--concurrency", "4", count=2):
            try:
                receiver.wait_for(100, timeout=120)
            except TimeoutError as exc:
                raise AssertionError(log.read_text(errors="replace")[-4000:]) from exc
            deadline = time.monotonic() + 30
            while Counter(j.status for j in _jobs(rt)) != Counter(done=200):
                assert time.monotonic() < deadline, Counter(j.status for j in _jobs(rt))
                time.sleep(0.2)
        assert len(receiver.all) == 100  # no message sent twice
        assert len({r.webhook_id for r in receiver.all}) == 100
    jobs = _jobs(rt)
    assert Counter(j.kind for j in jobs) == Counter(webhook_fan_out=100, webhook=100)
    assert {j.attempts for j in jobs} == {1}  # every job claimed once


def test_a_job_committed_elsewhere_wakes_an_idle_worker(
    client: TestClient, rt: Runtime, clock: FrozenClock, tmp_path: Path, on_postgres: str
) -> None:
    clock.now = datetime.now(UTC)
    rt.settings.webhook_allow_private = True
    org_id, headers = new_org(rt)
    log = tmp_path / "worker.log"
    with WebhookReceiver() as receiver:
        _subscribe(client, headers, receiver)
        # Polling alone would find the job only after 30 s.
        env = _env(rt, tmp_path, on_postgres, MEDSIGN_WORKER_POLL_SECONDS="30")
        with _workers(env, log, "worker", "--concurrency", "2"):
            _wait_for_line(log, "listening for jobs", 1, 60)
            time.sleep(1.0)  # the threads found nothing and sleep
            started = time.monotonic()
            _emit(rt, org_id, 1)  # a fan-out job; its commit queues the delivery
            try:
                receiver.wait_for(1, timeout=25)
            except TimeoutError as exc:
                raise AssertionError(log.read_text(errors="replace")[-4000:]) from exc
            took = time.monotonic() - started
    # Two hops (fan-out, then delivery), each woken by a NOTIFY; far below the poll.
    assert took < 10, f"{took:.2f} s"


def test_sigterm_lets_the_running_job_finish(
    client: TestClient, rt: Runtime, clock: FrozenClock, tmp_path: Path, on_postgres: str
) -> None:
    clock.now = datetime.now(UTC)
    rt.settings.webhook_allow_private = True
    org_id, headers = new_org(rt)
    log = tmp_path / "worker.log"
    with WebhookReceiver() as receiver:
        _subscribe(client, headers, receiver)
        receiver.hang_seconds = 3.0  # the delivery is in flight when SIGTERM comes
        _emit(rt, org_id, 1)
        env = _env(rt, tmp_path, on_postgres, MEDSIGN_WORKER_POLL_SECONDS="0.2")
        with _workers(env, log, "worker") as (proc,):
            deadline = time.monotonic() + 60
            while receiver.requests < 1:
                assert time.monotonic() < deadline, log.read_text(errors="replace")[-4000:]
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
    # The attempt in flight was answered (504 after the hang) and recorded, not cut off.
    with rt.transaction() as session:
        (delivery,) = session.scalars(select(WebhookDelivery)).all()
    assert delivery.attempts == 1 and delivery.response_status == 504
    webhook_jobs = sorted((j.status, j.attempts) for j in _jobs(rt) if j.kind == "webhook")
    assert webhook_jobs == [("done", 1), ("queued", 0)]  # that attempt, and the retry
