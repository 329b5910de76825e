"""Bulk send: one stored document to every patient of a CSV (issue [console] point 3).

Starting one writes the bulk send and its rows in one transaction and queues one job
per :data:`CHUNK` rows (the outbox: nothing is sent for a bulk send that was rolled
back). Each job creates its rows' envelopes, one transaction per row, so a refused row
(a bad phone, a policy the method breaks) records its reason and the others go on;
a row already handled is skipped, so a retried job sends nobody twice.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.branches.scope import branch_scope
from medsign.console.models import BulkRow, BulkSend
from medsign.console.schemas import BulkProgress
from medsign.console.service import patient_signer
from medsign.documents.service import get_document
from medsign.envelopes.schemas import EnvelopeIn
from medsign.envelopes.service import create_envelope
from medsign.errors import DomainError, InvalidInput, NotFound
from medsign.jobs.outbox import JobCall, JobKind, enqueue
from medsign.runtime import Runtime
from medsign.staff.schemas import Action, Actor
from medsign.staff.service import require
from medsign.usage.service import check_limits, local_day

CHUNK = 50
MAX_ROWS = 5000
_NAME = ("name", "patient", "patient_name", "фио", "имя", "نام")
_CONTACT = ("contact", "phone", "email", "телефон", "почта", "تلفن", "ایمیل")


def parse_patients(text: str) -> list[tuple[str, str]]:
    """``(name, contact)`` pairs of a CSV (comma or semicolon, optional header row with
    columns such as ``name`` and ``phone`` or ``email``; RFC 4180 quoting)."""
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    rows = [
        r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in r)
    ]
    if not rows:
        raise InvalidInput(
            "The CSV has no patients: one line per patient, name and phone or email."
        )
    name_col, contact_col = 0, 1
    header = [c.strip().lower() for c in rows[0]]
    if any(h in _NAME for h in header) or any(h in _CONTACT for h in header):
        name_col = next((i for i, h in enumerate(header) if h in _NAME), 0)
        contact_col = next((i for i, h in enumerate(header) if h in _CONTACT), 1)
        rows = rows[1:]
    if len(rows) > MAX_ROWS:
        raise InvalidInput(f"A bulk send takes at most {MAX_ROWS} patients; split the file.")
    if not rows:
        raise InvalidInput("The CSV has a header but no patients.")

    def cell(row: list[str], i: int) -> str:
        return row[i].strip() if i < len(row) else ""

    return [(cell(r, name_col), cell(r, contact_col)) for r in rows]


def start_bulk(
    session: Session,
    actor: Actor,
    document_id: str,
    patients: list[tuple[str, str]],
    *,
    method: str,
    now: datetime,
) -> BulkSend:
    """Record a bulk send of ``document_id`` to ``patients`` and queue its jobs."""
    require(actor, Action.SEND)
    doc = get_document(session, actor.organization_id, document_id)
    bulk = BulkSend(
        organization_id=actor.organization_id,
        branch_id=actor.branch_id,
        staff_id=actor.staff_id,
        document_id=doc.id,
        method=method or None,
        total=len(patients),
        created_at=now,
    )
    session.add(bulk)
    session.flush()
    session.add_all(
        BulkRow(bulk_id=bulk.id, position=i, name=name[:200], contact=contact[:254])
        for i, (name, contact) in enumerate(patients, start=1)
    )
    for first in range(1, len(patients) + 1, CHUNK):
        enqueue(
            session,
            JobKind.BULK_SEND,
            {"bulk_id": bulk.id, "first": first, "last": first + CHUNK - 1},
            now=now,
        )
    record(
        session,
        actor.organization_id,
        "bulk_send.started",
        at=now,
        actor=actor.audit_name,
        data={"bulk_id": bulk.id, "document_id": doc.id, "rows": len(patients)},
    )
    return bulk


def _send_row(rt: Runtime, session: Session, bulk: BulkSend, row: BulkRow) -> None:
    """Create one row's envelope inside a savepoint; a refusal (a bad phone, a policy
    the method breaks, a plan limit) rolls back only that row and is written on it."""
    now = rt.clock()
    s = rt.settings
    try:
        with session.begin_nested():
            signer = patient_signer(row.name, row.contact, bulk.method or "")
            check_limits(
                session,
                bulk.organization_id,
                sends_sms=signer.phone is not None,
                today=local_day(now, s.time_zone),
            )
            env = create_envelope(
                session,
                rt.keyring,
                bulk.organization_id,
                EnvelopeIn(document_id=bulk.document_id, signers=[signer]),
                now=now,
                default_ttl=timedelta(days=s.envelope_ttl_days),
                default_lang=s.default_lang,
                actor=f"staff:{bulk.staff_id}",
            )
    except DomainError as exc:
        row.status, row.error = "failed", exc.detail[:500]
        return
    row.status, row.envelope_id = "sent", env.id


def run_bulk_chunk(rt: Runtime, call: JobCall) -> None:
    """The job: send rows ``first``..``last`` of a bulk send in one transaction (one
    commit per chunk, not per row: SQLite's single writer and fsync set the pace), then
    mark the bulk send finished when no row is left queued. A job retried after a crash
    finds its rows still queued, since nothing of the chunk was committed."""
    bulk_id = str(call.payload["bulk_id"])
    with rt.transaction() as session:
        bulk = session.get(BulkSend, bulk_id)
        if bulk is None:
            return
        queued = session.scalars(
            select(BulkRow)
            .where(
                BulkRow.bulk_id == bulk_id,
                BulkRow.position.between(int(call.payload["first"]), int(call.payload["last"])),
                BulkRow.status == "queued",
            )
            .order_by(BulkRow.position)
            .with_for_update()
        ).all()
        with branch_scope(bulk.branch_id):
            for row in queued:
                _send_row(rt, session, bulk, row)
        session.flush()
        # Chunks end in the order they take this lock, and each counts after the ones
        # before it committed: the last to end sees no row left and marks it finished.
        session.refresh(bulk, with_for_update=True)
        left = session.scalar(
            select(func.count())
            .select_from(BulkRow)
            .where(BulkRow.bulk_id == bulk_id, BulkRow.status == "queued")
        )
        if not left and bulk.finished_at is None:
            bulk.finished_at = rt.clock()


def progress(session: Session, actor: Actor, bulk_id: str) -> BulkProgress:
    """How far the actor's organization's bulk send has come (404 for another's)."""
    bulk = session.get(BulkSend, bulk_id)
    if (
        bulk is None
        or bulk.organization_id != actor.organization_id
        or (actor.branch_id is not None and bulk.branch_id != actor.branch_id)
    ):
        raise NotFound(f"No bulk send with id {bulk_id}.")
    counts = dict(
        session.execute(
            select(BulkRow.status, func.count())
            .where(BulkRow.bulk_id == bulk_id)
            .group_by(BulkRow.status)
        ).all()
    )
    return BulkProgress(
        bulk_id=bulk.id,
        total=bulk.total,
        sent=int(counts.get("sent", 0)),
        failed=int(counts.get("failed", 0)),
        finished=bulk.finished_at is not None,
    )


def rows(session: Session, bulk_id: str, *, limit: int = 5000) -> list[BulkRow]:
    """The rows of a bulk send in CSV order (the caller checked :func:`progress`)."""
    return list(
        session.scalars(
            select(BulkRow)
            .where(BulkRow.bulk_id == bulk_id)
            .order_by(BulkRow.position)
            .limit(limit)
        )
    )
