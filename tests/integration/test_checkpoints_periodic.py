"""The worker's periodic task checkpoints the audit chains that moved, at most hourly."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, select

from medsign.audit.checkpoints import AuditCheckpoint, verify_checkpoints
from medsign.audit.models import AuditEvent
from medsign.jobs.handlers import checkpoint_chains, periodic
from medsign.runtime import Runtime
from tests.support.api import new_org, upload
from tests.support.clock import FrozenClock


def _checkpoints(rt: Runtime) -> list[tuple[str, int]]:
    with rt.transaction() as session:
        rows = session.execute(
            select(AuditCheckpoint.organization_id, AuditCheckpoint.seq).order_by(
                AuditCheckpoint.id
            )
        ).all()
    return [(str(org), int(seq)) for org, seq in rows]


def _head(rt: Runtime, org_id: str) -> int:
    with rt.transaction() as session:
        seqs = session.scalars(
            select(AuditEvent.seq).where(AuditEvent.organization_id == org_id)
        ).all()
    return max(seqs, default=0)


def test_periodic_checkpoints_moved_chains_at_most_hourly(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    a, headers_a = new_org(rt, "A")
    b, headers_b = new_org(rt, "B")
    upload(client, headers_a)
    upload(client, headers_b)
    assert _head(rt, a) >= 1 and _head(rt, b) >= 1
    assert _checkpoints(rt) == []

    # First run: one checkpoint per organization with events, at its head.
    periodic(rt)
    assert sorted(_checkpoints(rt)) == sorted([(a, _head(rt, a)), (b, _head(rt, b))])
    with rt.transaction() as session:
        for org in (a, b):
            report = verify_checkpoints(session, org)
            assert report.intact and report.checked == 1

    # Within the hour: nothing, even though A's chain moved.
    upload(client, headers_a)
    clock.advance(minutes=59)
    periodic(rt)
    assert len(_checkpoints(rt)) == 2

    # An hour after the last one: A's moved head is recorded; B did not move.
    clock.advance(minutes=1)
    periodic(rt)
    assert _checkpoints(rt)[2:] == [(a, _head(rt, a))]

    # No new events: nothing, however long it has been, and one query to know it.
    clock.advance(hours=5)
    periodic(rt)
    assert len(_checkpoints(rt)) == 3
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(rt.engine, "before_cursor_execute", seen)
    try:
        checkpoint_chains(rt)
    finally:
        event.remove(rt.engine, "before_cursor_execute", seen)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    assert len(_checkpoints(rt)) == 3

    # A new organization's first events are checkpointed on the next run.
    c, headers_c = new_org(rt, "C")
    upload(client, headers_c)
    periodic(rt)
    assert _checkpoints(rt)[3:] == [(c, _head(rt, c))]
