"""Jobs over their life: a job that runs longer than its lease is never taken by a second
worker while its worker lives (medsign.jobs.leases); finished jobs are deleted after the
retention time, dead ones kept (medsign.jobs.retention)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import select

from medsign.jobs.handlers import periodic
from medsign.jobs.leases import Leases
from medsign.jobs.models import Job
from medsign.jobs.outbox import JobCall, JobKind, enqueue
from medsign.jobs.retention import purge_done
from medsign.jobs.running import Handler
from medsign.jobs.worker import Worker, claim
from medsign.runtime import Runtime, system_clock
from medsign.settings import Settings
from tests.support.clock import FrozenClock


def _queue_one(rt: Runtime) -> str:
    with rt.transaction() as session:
        return enqueue(session, JobKind.NOTICE, {"test": True}, now=rt.clock()).id


def test_a_renewed_lease_keeps_the_job_from_other_workers(rt: Runtime, clock: FrozenClock) -> None:
    _queue_one(rt)
    lease = timedelta(seconds=rt.settings.worker_lease_seconds)
    call = claim(rt)
    assert call is not None
    leases = Leases()
    leases.hold(call)
    clock.advance(seconds=lease.total_seconds() * 0.9)
    assert leases.renew(rt) == 1
    clock.advance(seconds=lease.total_seconds() * 0.5)  # past the first lease, not the second
    assert claim(rt) is None
    leases.release(call)
    clock.advance(seconds=lease.total_seconds())  # nobody renews: the job is taken back
    again = claim(rt)
    assert again is not None and again.id == call.id and again.attempt == call.attempt + 1


def test_renewal_never_extends_another_workers_run(rt: Runtime, clock: FrozenClock) -> None:
    _queue_one(rt)
    lease = rt.settings.worker_lease_seconds
    first = claim(rt)
    assert first is not None
    stale = Leases()
    stale.hold(first)
    clock.advance(seconds=lease + 1)
    second = claim(rt)  # the first worker stalled past its lease: taken over
    assert second is not None and second.attempt == first.attempt + 1
    assert stale.renew(rt, force=True) == 0
    with rt.transaction() as session:
        job = session.scalars(select(Job).where(Job.id == first.id)).one()
        assert job.attempts == second.attempt


def test_a_long_job_runs_once_with_two_workers(rt: Runtime, settings: Settings) -> None:
    """Real time, real threads: a 2 s lease, a 5 s job, two workers polling (``rt`` only
    empties the tables afterwards; the workers run on a runtime with the real clock)."""
    settings.worker_lease_seconds = 2.0
    settings.worker_poll_seconds = 0.05
    real = Runtime.build(settings, clock=system_clock)
    runs: list[int] = []
    done = threading.Event()

    def slow(_rt: Runtime, call: JobCall) -> None:
        runs.append(call.attempt)
        time.sleep(5)
        done.set()

    handlers: dict[str, Handler] = {JobKind.NOTICE.value: slow}
    workers = [Worker(real, handlers, concurrency=1) for _ in range(2)]
    try:
        for worker in workers:
            worker.start()
        _queue_one(real)
        assert done.wait(15)
        time.sleep(0.5)
    finally:
        for worker in workers:
            worker.stop(30)
        real.close()
    assert runs == [1]


def test_housekeeping_deletes_old_done_jobs_and_keeps_dead_ones(
    rt: Runtime, clock: FrozenClock
) -> None:
    ids = [_queue_one(rt) for _ in range(3)]
    with rt.transaction() as session:
        jobs = [session.get_one(Job, job_id) for job_id in ids]
        jobs[0].status, jobs[0].finished_at = "done", clock()
        jobs[1].status, jobs[1].finished_at = "dead", clock()
    clock.advance(days=rt.settings.job_retention_days - 1)
    with rt.transaction() as session:
        assert purge_done(session, now=clock(), keep=timedelta(days=7)) == 0
    clock.advance(days=2)
    periodic(rt)
    with rt.transaction() as session:
        left = {j.id: j.status for j in session.scalars(select(Job))}
    assert jobs[0].id not in left
    assert left[jobs[1].id] == "dead"
    assert left[jobs[2].id] == "queued"
