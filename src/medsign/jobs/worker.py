"""The worker: claims due jobs, runs their handlers side by side, retries with backoff.

Claiming uses ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so N workers never take the
same job; on SQLite (one writer at a time, ``BEGIN IMMEDIATE``) a conditional UPDATE
does the same. A claimed job is leased (``MEDSIGN_WORKER_LEASE_SECONDS``) and the worker
renews the lease while the job runs (:mod:`medsign.jobs.leases`): a job whose worker died
is taken again once its lease runs out, so nothing is lost; handlers are idempotent and
deliveries carry the job id as their idempotency key.

Jobs are claimed by priority, then due time (:data:`medsign.jobs.outbox.PRIORITY`).
One :class:`Worker` runs ``concurrency`` threads; CPU-bound kinds go to a process pool
(:mod:`medsign.jobs.pool`), and never hold more threads than it has processes, so a
one-time code never waits behind a queue of seals. Idle threads sleep on the runtime's
doorbell (rung after commits, :mod:`medsign.jobs.wakeup`) or poll.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, update

from medsign.jobs.leases import Leases
from medsign.jobs.models import Job
from medsign.jobs.outbox import CPU_BOUND, JobCall, JobStatus
from medsign.jobs.pool import CpuPool
from medsign.jobs.running import Handler, Outcome, backoff, execute
from medsign.jobs.wakeup import Listener
from medsign.runtime import Runtime

__all__ = ["LEASE", "MAX_ATTEMPTS", "Handler", "Worker", "backoff", "claim", "run_one"]

log = logging.getLogger("medsign.worker")

LEASE = timedelta(minutes=2)  # the default of MEDSIGN_WORKER_LEASE_SECONDS
MAX_ATTEMPTS = 12
PERIODIC_SECONDS = 1.0  # housekeeping: audit log sequencing, sweeps (jobs.handlers)


def _stale(now: datetime) -> Select[Job]:
    """Running jobs whose lease ran out (their worker died): taken back first."""
    return (
        select(Job)
        .where(Job.status == JobStatus.RUNNING.value, Job.locked_until < now)
        .order_by(Job.priority, Job.locked_until)
    )


def _due(now: datetime) -> Select[Job]:
    """Queued jobs that are due, most urgent first (the ``ix_jobs_claim`` index)."""
    return (
        select(Job)
        .where(Job.status == JobStatus.QUEUED.value, Job.run_after <= now)
        .order_by(Job.priority, Job.run_after)
    )


def claim(rt: Runtime, *, cpu: bool = True) -> JobCall | None:
    """Take one due job (queued, or running with an expired lease); None if there is none.
    ``cpu=False`` leaves the CPU-bound kinds to others."""
    now = rt.clock()
    with rt.transaction() as session:
        job = None
        for query in (_stale(now), _due(now)):
            if not cpu:
                query = query.where(Job.kind.not_in(CPU_BOUND))
            job = session.scalars(query.limit(1).with_for_update(skip_locked=True)).first()
            if job is not None:
                break
        if job is None:
            return None
        taken = session.execute(
            update(Job)
            .where(Job.id == job.id, Job.attempts == job.attempts, Job.status == job.status)
            .values(
                status=JobStatus.RUNNING.value,
                attempts=Job.attempts + 1,
                locked_until=now + timedelta(seconds=rt.settings.worker_lease_seconds),
            )
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return JobCall(id=job.id, kind=job.kind, attempt=job.attempts + 1, payload=job.payload)


def finish(rt: Runtime, call: JobCall, outcome: Outcome) -> None:
    """Record how the run of ``call`` ended, unless the job was taken from us meanwhile
    (lease expired and claimed again: that run records its own outcome)."""
    now = rt.clock()
    values: dict[str, Any]
    if outcome.error is None:
        values = {"status": JobStatus.DONE.value, "finished_at": now, "last_error": None}
    elif outcome.retry_in is None or call.attempt >= MAX_ATTEMPTS:
        values = {"status": JobStatus.DEAD.value, "finished_at": now, "last_error": outcome.error}
    else:
        values = {
            "status": JobStatus.QUEUED.value,
            "run_after": now + timedelta(seconds=outcome.retry_in),
            "locked_until": None,
            "last_error": outcome.error,
        }
    with rt.transaction() as session:
        session.execute(
            update(Job)
            .where(
                Job.id == call.id,
                Job.attempts == call.attempt,
                Job.status == JobStatus.RUNNING.value,
            )
            .values(**values)
        )


def run_one(
    rt: Runtime,
    handlers: dict[str, Handler],
    *,
    pool: CpuPool | None = None,
    cpu: bool = True,
    leases: Leases | None = None,
) -> bool:
    """Claim and run one job (CPU-bound kinds on ``pool`` when given); True if one ran.
    With ``leases``, the job's lease is renewed while it runs (``Leases.renew``)."""
    call = claim(rt, cpu=cpu)
    if call is None:
        return False
    if leases is not None:
        leases.hold(call)
    try:
        if pool is not None and call.kind in CPU_BOUND:
            outcome = pool.run(call)
            finish(rt, call, outcome)
            # The child's commits rang the child's doorbell, not ours (on PostgreSQL its
            # NOTIFY reaches us too): what the job queued (notices, evidence) starts now.
            rt.job_ready.ring()
            return True
        outcome = execute(rt, handlers.get(call.kind), call)
        finish(rt, call, outcome)
        return True
    finally:
        if leases is not None:
            leases.release(call)


class Worker:
    """``concurrency`` threads running jobs, plus a process pool for CPU-bound kinds.

    In-process (``start``/``stop``, by the web app) or in the main thread
    (``run_forever``, by ``medsign worker``). ``processes=0`` runs every kind in the
    threads (no pool).
    """

    def __init__(
        self,
        rt: Runtime,
        handlers: dict[str, Handler],
        *,
        concurrency: int = 1,
        processes: int = 0,
        cpu_slots: int | None = None,
    ) -> None:
        self.rt = rt
        self.handlers = handlers
        self.concurrency = max(1, concurrency)
        self.processes = max(0, processes)
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # CPU-bound jobs held at once (default: as many as the pool runs, all threads
        # without a pool), so the other threads stay free for deliveries: a code is
        # never stuck behind seals.
        slots = cpu_slots if cpu_slots is not None else self.processes or self.concurrency
        self._cpu_slots = threading.BoundedSemaphore(max(1, slots))
        self.leases = Leases()

    def _run_next(self, pool: CpuPool | None) -> bool:
        held = self._cpu_slots.acquire(blocking=False)
        try:
            return run_one(self.rt, self.handlers, pool=pool, cpu=held, leases=self.leases)
        finally:
            if held:
                self._cpu_slots.release()

    def _loop(self, pool: CpuPool | None) -> None:
        poll = self.rt.settings.worker_poll_seconds
        while not self.stopping.is_set():
            seen = self.rt.job_ready.seen()
            try:
                ran = self._run_next(pool)
            except Exception:
                log.exception("worker loop error")
                ran = False
            if not ran:
                self.rt.job_ready.wait(seen, poll)

    def run_forever(self, periodic: Callable[[Runtime], None] | None = None) -> None:
        """Run jobs until ``stop()`` (or ``stopping`` is set); call ``periodic``
        (housekeeping: the audit log's sequencer, expiry and reminder sweeps) about every
        second. Returns after the running jobs finished."""
        pool = CpuPool(self.rt.settings, self.processes) if self.processes else None
        listener = None
        if self.rt.engine.dialect.name == "postgresql":
            listener = Listener(self.rt.settings.resolved_database_url, self.rt.job_ready)
            listener.start()
        threads = [
            threading.Thread(target=self._loop, args=(pool,), name=f"medsign-job-{i}")
            for i in range(self.concurrency)
        ]
        for thread in threads:
            thread.start()
        # Leases are renewed every third of the lease (Leases.renew), so the loop ticks
        # at least that often; housekeeping still runs about once per PERIODIC_SECONDS.
        tick = min(PERIODIC_SECONDS, self.rt.settings.worker_lease_seconds / 4)
        last_periodic: float | None = None
        try:
            while not self.stopping.is_set():
                try:
                    self.leases.renew(self.rt)
                except Exception:
                    log.exception("lease renewal failed")
                started = time.monotonic()
                if periodic is not None and (
                    last_periodic is None or started - last_periodic >= PERIODIC_SECONDS
                ):
                    last_periodic = started
                    try:
                        periodic(self.rt)
                    except Exception:
                        log.exception("periodic task failed")
                self.stopping.wait(tick)
        finally:
            self.stopping.set()
            self.rt.job_ready.ring()
            for thread in threads:
                thread.join()
            if pool is not None:
                pool.shutdown()
            if listener is not None:
                listener.stop()

    def start(self, periodic: Callable[[Runtime], None] | None = None) -> None:
        """Start in a daemon thread."""
        self._thread = threading.Thread(
            target=self.run_forever, args=(periodic,), name="medsign-worker", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 60) -> None:
        """Ask the threads to end and wait (up to ``timeout`` s) for running jobs to finish."""
        self.stopping.set()
        self.rt.job_ready.ring()
        if self._thread is not None:
            self._thread.join(timeout)
