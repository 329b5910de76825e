"""The transactional outbox: enqueue side effects in the caller's transaction.

A job becomes visible to workers only when the transaction that changed the state
commits, so a crash can neither lose the side effect nor run it for a change that
was rolled back (shared/DESIGN.md "Architecture"). Enqueuing marks the session
(``session.info``) so the commit wakes the workers (:mod:`medsign.jobs.wakeup`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from medsign.db.base import new_id
from medsign.db.one_flush import insert_later
from medsign.jobs.models import Job

ENQUEUED = "medsign.jobs_enqueued"  # session.info key: this transaction queued jobs


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
    WEBHOOK_FAN_OUT = "webhook_fan_out"  # turn new events into webhook deliveries
    WEBHOOK = "webhook"  # one attempt of one webhook delivery (medsign.webhooks.delivery)
    EVIDENCE = "evidence"  # certificate of completion and archive (medsign.evidence.service)
    DEVICE_PREPARE = "device_prepare"  # prepare a clinician's signature for their devices
    ENROLLMENT = "enrollment"  # send a clinician their device enrollment link
    CABINET_CODE = "cabinet_code"  # a patient cabinet login code (medsign.cabinet.messages)
    ATTACH_CODE = "attach_code"  # a 9-digit attach code to a patient (medsign.cabinet.messages)
    BULK_SEND = "bulk_send"  # create the envelopes of some rows of a bulk send (console)
    STAFF_INVITE = "staff_invite"  # email a staff invitation link (medsign.staff.messages)
    SCHEDULE = "schedule"  # recompute a target's notification times (medsign.reminders)
    NOTIFY = "notify"  # one step of a notification message (medsign.notify.delivery)
    CONVERT = "convert"  # normalize a console send's files, then send (console.conversion)
    # a followed envelope was signed or ended; the feature waiting on it reacts
    # (envelopes.workflow.follow_up: a telemedicine consent books its held slot)
    FOLLOW_UP = "follow_up"


# Lower runs first (docs/operations.md): what a patient waits for on the screen, then
# the seal that turns their signature into the PDF, then what nobody waits for.
PRIORITY: dict[JobKind, int] = {
    JobKind.SEND_CODE: 0,
    JobKind.CABINET_CODE: 0,
    JobKind.ATTACH_CODE: 1,
    JobKind.INVITE: 1,
    JobKind.DEVICE_PREPARE: 1,
    JobKind.ENROLLMENT: 1,
    JobKind.SEAL: 2,
    JobKind.NOTICE: 3,
    JobKind.WEBHOOK_FAN_OUT: 3,
    JobKind.WEBHOOK: 3,
    JobKind.EVIDENCE: 4,
    JobKind.BULK_SEND: 3,
    JobKind.STAFF_INVITE: 1,
    JobKind.SCHEDULE: 3,
    JobKind.NOTIFY: 3,
    JobKind.CONVERT: 2,
    JobKind.FOLLOW_UP: 1,  # the patient may be waiting to see the visit booked
}

# CPU-bound kinds (PDF signing, RFC 3161 stamping, archives) run on a process pool;
# the others wait on the network and run on threads.
CPU_BOUND: frozenset[str] = frozenset({JobKind.SEAL.value, JobKind.EVIDENCE.value})


@dataclass(frozen=True)
class JobCall:
    """What a handler gets: the job's id (the idempotency key of its deliveries), the
    attempt number (1 for the first run) and the payload of ids. Never the row."""

    id: str
    kind: str
    attempt: int
    payload: dict[str, Any]


def enqueue(session: Session, kind: JobKind, payload: dict[str, Any], *, now: datetime) -> Job:
    """Add a job in the current transaction; it runs after commit (and wakes workers then)."""
    job = Job(
        kind=kind.value,
        payload=payload,
        status=JobStatus.QUEUED.value,
        priority=PRIORITY[kind],
        run_after=now,
    )
    if not insert_later(session, job):  # medsign.db.one_flush: written at its end
        session.add(job)
        session.flush()
    session.info[ENQUEUED] = True
    return job


def enqueue_many(
    session: Session, kind: JobKind, payloads: list[dict[str, Any]], *, now: datetime
) -> None:
    """Add many jobs of one kind in one statement (bulk work: a batch of scheduled
    notifications); like :func:`enqueue`, they run after commit."""
    if not payloads:
        return
    session.execute(
        insert(Job),
        [
            {
                "id": new_id(),
                "kind": kind.value,
                "payload": payload,
                "status": JobStatus.QUEUED.value,
                "priority": PRIORITY[kind],
                "attempts": 0,
                "run_after": now,
                "created_at": now,
            }
            for payload in payloads
        ],
    )
    session.info[ENQUEUED] = True
