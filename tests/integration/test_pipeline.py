"""The job pipeline in one process: jobs run side by side exactly once, by priority;
commits wake the worker, rollbacks do not (docs/operations.md)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from medsign.events.service import emit
from medsign.jobs.handlers import build_handlers
from medsign.jobs.models import Job
from medsign.jobs.outbox import JobCall, JobKind, enqueue
from medsign.jobs.pool import CpuPool
from medsign.jobs.running import Handler
from medsign.jobs.wakeup import CHANNEL, libpq_url
from medsign.jobs.worker import Worker, claim, run_one
from medsign.pdf.validate import validate_pdf
from medsign.runtime import Runtime, SealKeys
from medsign.webhooks.fanout import fan_out_events
from medsign.webhooks.models import WebhookDelivery
from tests.support.api import create_envelope, new_org, patient, upload
from tests.support.clock import FrozenClock
from tests.support.pages import latest_code, path_of, press_sign, request_code
from tests.support.worker import drain


class Recorder:
    """Handlers that record each run (and how many ran at the same moment)."""

    def __init__(self, hold: float = 0.0) -> None:
        self.hold = hold
        self.runs: list[JobCall] = []
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()
        self.ran = threading.Event()

    def __call__(self, _rt: Runtime, call: JobCall) -> None:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(self.hold)
        with self._lock:
            self.running -= 1
            self.runs.append(call)
        self.ran.set()

    def handlers(self) -> dict[str, Handler]:
        """This recorder for every kind."""
        return {kind.value: self for kind in JobKind}


def _statuses(rt: Runtime) -> Counter[str]:
    with rt.transaction() as session:
        return Counter(session.scalars(select(Job.status)))


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_four_threads_run_200_jobs_of_every_kind_exactly_once(rt: Runtime) -> None:
    kinds = list(JobKind)
    with rt.transaction() as session:
        ids = [
            enqueue(session, kinds[i % len(kinds)], {"n": i}, now=rt.clock()).id for i in range(200)
        ]
    recorder = Recorder(hold=0.01)
    worker = Worker(rt, recorder.handlers(), concurrency=4)
    worker.start()
    try:
        _wait(lambda: len(recorder.runs) >= 200, 120, "200 jobs")
        _wait(lambda: _statuses(rt) == Counter(done=200), 30, "200 jobs marked done")
    finally:
        worker.stop()
    assert sorted(c.id for c in recorder.runs) == sorted(ids)  # each once, none twice
    assert {c.attempt for c in recorder.runs} == {1}
    assert Counter(c.kind for c in recorder.runs) == Counter(
        kinds[i % len(kinds)].value for i in range(200)
    )
    assert recorder.most_at_once > 1  # side by side, not one after the other


def test_a_code_queued_after_50_seals_runs_before_them(rt: Runtime, clock: FrozenClock) -> None:
    with rt.transaction() as session:
        for i in range(50):
            enqueue(session, JobKind.SEAL, {"envelope_id": f"e{i}"}, now=clock())
            clock.advance(seconds=1)
    with rt.transaction() as session:
        enqueue(session, JobKind.NOTICE, {"signer_id": "s"}, now=clock())
        enqueue(session, JobKind.SEND_CODE, {"challenge_id": "c"}, now=clock())
    recorder = Recorder()
    while run_one(rt, recorder.handlers()):
        pass
    order = [c.kind for c in recorder.runs]
    assert order == ["send_code"] + ["seal"] * 50 + ["notice"]
    seals = [c.payload["envelope_id"] for c in recorder.runs if c.kind == "seal"]
    assert seals == [f"e{i}" for i in range(50)]  # same priority: oldest first


def test_a_worker_busy_with_seals_keeps_threads_for_codes(rt: Runtime) -> None:
    # 2 CPU slots of 4 threads: the seals may hold 2 threads, a code takes a third.
    class Slow(Recorder):
        def __call__(self, rt_: Runtime, call: JobCall) -> None:
            self.hold = 1.0 if call.kind == "seal" else 0.0
            super().__call__(rt_, call)

    recorder = Slow()
    with rt.transaction() as session:
        for i in range(6):
            enqueue(session, JobKind.SEAL, {"envelope_id": f"e{i}"}, now=rt.clock())
    worker = Worker(rt, recorder.handlers(), concurrency=4, cpu_slots=2)  # as a pool of 2
    worker.start()
    try:
        time.sleep(0.3)  # the seals are running
        with rt.transaction() as session:
            enqueue(session, JobKind.SEND_CODE, {"challenge_id": "c"}, now=rt.clock())
        _wait(lambda: any(c.kind == "send_code" for c in recorder.runs), 5, "the code")
        assert sum(c.kind == "seal" for c in recorder.runs) <= 2  # it did not wait for 6
    finally:
        worker.stop()
    assert recorder.most_at_once <= 3


def test_a_commit_wakes_the_idle_worker_at_once(rt: Runtime) -> None:
    rt.settings.worker_poll_seconds = 30.0  # polling alone would take up to 30 s
    recorder = Recorder()
    worker = Worker(rt, recorder.handlers(), concurrency=2)
    worker.start()
    try:
        time.sleep(0.5)  # both threads found nothing and sleep
        with rt.transaction() as session:
            enqueue(session, JobKind.SEND_CODE, {"challenge_id": "c"}, now=rt.clock())
        assert recorder.ran.wait(10), "the committed job did not wake the worker"
    finally:
        worker.stop()


def test_a_rollback_enqueues_nothing_and_wakes_nothing(rt: Runtime) -> None:
    listen = None
    if rt.engine.dialect.name == "postgresql":
        import psycopg

        listen = psycopg.connect(libpq_url(rt.settings.resolved_database_url), autocommit=True)
        listen.execute(f"LISTEN {CHANNEL}")
    try:
        seen = rt.job_ready.seen()
        with pytest.raises(RuntimeError), rt.transaction() as session:
            enqueue(session, JobKind.SEND_CODE, {"challenge_id": "c"}, now=rt.clock())
            raise RuntimeError("the state change failed")
        assert not rt.job_ready.wait(seen, 0.3)
        assert _statuses(rt) == Counter()
        assert claim(rt) is None
        if listen is not None:
            assert list(listen.notifies(timeout=0.5)) == []
        with rt.transaction() as session:  # the same, committed: the check can fail
            enqueue(session, JobKind.SEND_CODE, {"challenge_id": "c"}, now=rt.clock())
        assert rt.job_ready.wait(seen, 0.3)
        if listen is not None:
            assert [n.channel for n in listen.notifies(timeout=5, stop_after=1)] == [CHANNEL]
    finally:
        if listen is not None:
            listen.close()


def test_seal_and_evidence_run_in_a_child_process(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    clock.now = datetime.now(UTC)  # the child runs on the real clock
    _, headers = new_org(rt)
    env = create_envelope(client, headers, upload(client, headers)["id"], patient())
    drain(rt)
    path = path_of(env["signers"][0]["signing_url"])
    assert request_code(client, path).status_code == 303
    drain(rt)
    assert press_sign(client, path, latest_code(rt, "+79991234567")).status_code == 303
    pool = CpuPool(rt.settings, 1)
    try:
        ran = True
        while ran:
            clock.now = datetime.now(UTC)  # what the child queued is due on its clock
            ran = run_one(rt, build_handlers(rt), pool=pool)
    finally:
        pool.shutdown()
    with rt.transaction() as session:
        jobs = session.execute(select(Job.kind, Job.status, Job.last_error)).all()
    assert {kind for kind, _, _ in jobs} >= {"seal", "evidence"}
    assert all(status == "done" for _, status, _ in jobs), jobs
    state = client.get(f"/api/v1/envelopes/{env['id']}", headers=headers).json()
    assert state["status"] == "completed"
    # The child built its runtime from the settings alone: its development CA lives
    # under the data dir, not in the test session's shared keys directory.
    child_keys = SealKeys(rt.settings)
    assert child_keys.keys_dir != rt.seal_keys.keys_dir
    pdf = client.get(f"/api/v1/envelopes/{env['id']}/pdf", headers=headers).content
    assert validate_pdf(pdf, child_keys.trust_roots()).valid


def test_fan_out_runs_once_and_in_event_order(client: TestClient, rt: Runtime) -> None:
    rt.settings.webhook_allow_private = True
    org_id, headers = new_org(rt)
    res = client.post(
        "/api/v1/webhooks", headers=headers, json={"url": "http://127.0.0.1:9/", "events": ["*"]}
    )
    assert res.status_code == 201, res.text
    with rt.transaction() as session:
        first = emit(session, org_id, "edo_agreement.created", at=rt.clock(), data={"n": 1})
        second = emit(session, org_id, "edo_agreement.revoked", at=rt.clock(), data={"n": 2})
    with rt.transaction() as session:
        fan_outs = session.scalars(
            select(Job).where(Job.kind == "webhook_fan_out").order_by(Job.created_at)
        ).all()
    assert len(fan_outs) == 2  # one job per event
    # The later event's job runs first (two workers, or a retry): it fans out both, in order.
    fan_out_events(
        rt, JobCall("j2", "webhook_fan_out", 1, {"organization_id": org_id, "event": second.id})
    )
    fan_out_events(
        rt, JobCall("j1", "webhook_fan_out", 1, {"organization_id": org_id, "event": first.id})
    )
    fan_out_events(
        rt, JobCall("j2", "webhook_fan_out", 2, {"organization_id": org_id, "event": second.id})
    )
    with rt.transaction() as session:
        logged = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
    assert [d.event_id for d in logged] == [first.event_id, second.event_id]  # once each
