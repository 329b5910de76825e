"""Finished jobs are deleted after a while, so the outbox does not grow without end.

A done job has nothing left to say: what it did is in the audit log, the events and the
delivery rows. Dead jobs (gave up) are kept: they are what an operator looks into.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from medsign.jobs.models import Job
from medsign.jobs.outbox import JobStatus

BATCH = 1000  # rows per delete: short transactions, no long lock on the table


def purge_done(session: Session, *, now: datetime, keep: timedelta, limit: int = BATCH) -> int:
    """Delete up to ``limit`` jobs that finished successfully before ``now - keep``;
    returns how many were deleted (call again while it returns ``limit``)."""
    old = (
        select(Job.id)
        .where(Job.status == JobStatus.DONE.value, Job.finished_at < now - keep)
        .limit(limit)
    )
    ids = list(session.scalars(old))
    if not ids:
        return 0
    session.execute(delete(Job).where(Job.id.in_(ids)).execution_options(synchronize_session=False))
    return len(ids)
