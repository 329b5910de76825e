"""The worker: claims due jobs, runs their handlers, retries with backoff.

Claiming uses ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so N workers never take the
same job; on SQLite (one writer at a time) a conditional UPDATE does the same. A job
whose worker died is taken again once its lease runs out, so nothing is lost;
handlers are idempotent and deliveries carry the job id as their idempotency key.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from medsign.errors import DomainError
from medsign.jobs.models import Job
from medsign.jobs.outbox import JobStatus
from medsign.notify.ports import DeliveryError
from medsign.runtime import Runtime

log = logging.getLogger("medsign.worker")

Handler = Callable[[Runtime, Job], None]
LEASE = timedelta(minutes=2)  # the default of MEDSIGN_WORKER_LEASE_SECONDS
MAX_ATTEMPTS = 12
PERIODIC_SECONDS = 1.0  # housekeeping: audit log sequencing, sweeps (jobs.handlers)


def claim(rt: Runtime) -> Job | None:
    """Take one due job (queued, or running with an expired lease); None if there is none."""
    now = rt.clock()
    with rt.transaction() as session:
        job = session.scalars(
            select(Job)
            .where(
                or_(
                    (Job.status == JobStatus.QUEUED.value) & (Job.run_after <= now),
                    (Job.status == JobStatus.RUNNING.value) & (Job.locked_until < now),
                )
            )
            .order_by(Job.run_after, Job.created_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
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
        session.refresh(job)
        return job


def _finish(rt: Runtime, job: Job, error: str | None, retry_in: float | None) -> None:
    now = rt.clock()
    with rt.transaction() as session:
        values: dict[str, Any]
        if error is None:
            values = {"status": JobStatus.DONE.value, "finished_at": now, "last_error": None}
        elif retry_in is None or job.attempts >= MAX_ATTEMPTS:
            values = {"status": JobStatus.DEAD.value, "finished_at": now, "last_error": error}
        else:
            values = {
                "status": JobStatus.QUEUED.value,
                "run_after": now + timedelta(seconds=retry_in),
                "locked_until": None,
                "last_error": error,
            }
        session.execute(update(Job).where(Job.id == job.id).values(**values))


def backoff(base: float, attempts: int) -> float:
    """Exponential backoff with full jitter: ``base * 2**(attempts-1)``, jittered ±50 %."""
    delay: float = base * 2.0 ** max(attempts - 1, 0)
    return min(delay, 3600.0) * (0.5 + random.random())  # noqa: S311 - jitter, not crypto


def run_one(rt: Runtime, handlers: dict[str, Handler]) -> bool:
    """Claim and run one job; True if a job was run."""
    job = claim(rt)
    if job is None:
        return False
    handler = handlers.get(job.kind)
    if handler is None:
        _finish(rt, job, f"no handler for {job.kind}", None)
        return True
    try:
        handler(rt, job)
    except DeliveryError as exc:
        log.warning("job %s (%s) delivery failed: %s", job.id, job.kind, exc)
        retry = backoff(rt.settings.webhook_backoff, job.attempts) if exc.retryable else None
        _finish(rt, job, str(exc), retry)
    except DomainError as exc:
        log.warning("job %s (%s) refused: %s", job.id, job.kind, exc.detail)
        _finish(rt, job, exc.detail, None)
    except Exception as exc:
        log.exception("job %s (%s) failed", job.id, job.kind)
        _finish(rt, job, f"{type(exc).__name__}: {exc}", backoff(1.0, job.attempts))
    else:
        _finish(rt, job, None, None)
    return True


class Worker:
    """A loop over ``run_one`` in a thread (in-process) or the main thread (CLI)."""

    def __init__(self, rt: Runtime, handlers: dict[str, Handler]) -> None:
        self.rt = rt
        self.handlers = handlers
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_forever(self, periodic: Callable[[Runtime], None] | None = None) -> None:
        """Run jobs until ``stop()``; call ``periodic`` (housekeeping) about every second."""
        last_periodic = 0.0
        while not self.stopping.is_set():
            if periodic is not None and time.monotonic() - last_periodic >= PERIODIC_SECONDS:
                last_periodic = time.monotonic()
                try:
                    periodic(self.rt)
                except Exception:
                    log.exception("periodic task failed")
            try:
                ran = run_one(self.rt, self.handlers)
            except Exception:
                log.exception("worker loop error")
                ran = False
            if not ran:
                self.rt.job_ready.wait(self.rt.settings.worker_poll_seconds)
                self.rt.job_ready.clear()

    def start(self, periodic: Callable[[Runtime], None] | None = None) -> None:
        """Start in a daemon thread."""
        self._thread = threading.Thread(
            target=self.run_forever, args=(periodic,), name="medsign-worker", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        """Ask the loop to end and wait for the running job to finish."""
        self.stopping.set()
        self.rt.job_ready.set()
        if self._thread is not None:
            self._thread.join(timeout)
