"""Lease renewal: a job that runs longer than its lease is not taken by another worker.

A claimed job is leased until ``locked_until`` (``MEDSIGN_WORKER_LEASE_SECONDS``); a
worker that dies stops renewing, so its jobs are taken again once the lease runs out.
A worker that lives renews the leases of the jobs it runs every third of the lease, so
a seal of a very large document or a slow delivery is never run twice at once.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update

from medsign.jobs.models import Job
from medsign.jobs.outbox import JobCall, JobStatus
from medsign.runtime import Runtime


class Leases:
    """The jobs one worker is running (id -> attempt), and their heartbeat."""

    def __init__(self) -> None:
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()
        self._renewed_at: datetime | None = None

    def hold(self, call: JobCall) -> None:
        """``call`` runs here from now on."""
        with self._lock:
            self._held[call.id] = call.attempt

    def release(self, call: JobCall) -> None:
        """``call`` ended (its outcome is recorded by ``finish``)."""
        with self._lock:
            self._held.pop(call.id, None)

    def held(self) -> dict[str, int]:
        """A copy of what runs here now."""
        with self._lock:
            return dict(self._held)

    def renew(self, rt: Runtime, *, force: bool = False) -> int:
        """Push the lease of every held job to now + lease, once a third of the lease has
        passed since the last renewal (or at once with ``force``); returns the jobs renewed.

        Only this worker's run of a job is renewed (same attempt, still running): a job
        taken by another worker after an expired lease keeps that worker's lease."""
        now = rt.clock()
        lease = timedelta(seconds=rt.settings.worker_lease_seconds)
        if not force and self._renewed_at is not None and now - self._renewed_at < lease / 3:
            return 0
        self._renewed_at = now
        held = self.held()
        if not held:
            return 0
        mine = or_(*(and_(Job.id == job_id, Job.attempts == n) for job_id, n in held.items()))
        with rt.transaction() as session:
            result = session.execute(
                update(Job)
                .where(Job.status == JobStatus.RUNNING.value, mine)
                .values(locked_until=now + lease)
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]
