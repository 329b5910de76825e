"""The transactional outbox: enqueue side effects in the caller's transaction.

A job becomes visible to workers only when the transaction that changed the state
commits, so a crash can neither lose the side effect nor run it for a change that
was rolled back (shared/DESIGN.md "Architecture").
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from medsign.jobs.models import Job


class JobStatus(StrEnum):
    """Life of a job."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


class JobKind(StrEnum):
    """What a job does; each kind has one handler in ``medsign.jobs.handlers``."""

    INVITE = "invite"  # tell a signer it is their turn (link)
    SEND_CODE = "send_code"  # deliver a one-time code
    SEAL = "seal"  # apply pending signatures to the envelope PDF, then advance it
    NOTICE = "notice"  # tell a signer or viewer the envelope completed or was declined
    WEBHOOK = "webhook"  # one attempt of one webhook delivery (medsign.webhooks.delivery)
    EVIDENCE = "evidence"  # certificate of completion and archive (medsign.evidence.service)


def enqueue(session: Session, kind: JobKind, payload: dict[str, Any], *, now: datetime) -> Job:
    """Add a job in the current transaction; it runs after commit."""
    job = Job(kind=kind.value, payload=payload, status=JobStatus.QUEUED.value, run_after=now)
    session.add(job)
    session.flush()
    return job
