"""medsign.db.one_flush on SQLite and PostgreSQL: the rows of audit, events and jobs
added inside go in at the end in the order they were added; an error inside writes
none of them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from medsign.audit.models import AuditEvent
from medsign.audit.service import record
from medsign.db.one_flush import one_flush
from medsign.events.models import Event
from medsign.events.service import emit
from medsign.jobs.models import Job
from medsign.runtime import Runtime
from tests.support.api import new_org


def test_rows_go_in_at_the_end_in_order(rt: Runtime) -> None:
    org_id, _ = new_org(rt)
    now = rt.clock()
    with rt.transaction() as session, one_flush(session):
        for n in range(5):
            record(session, org_id, f"test.step{n}", at=now, actor="test", data={"n": n})
        emit(session, org_id, "envelope.sent", at=now, envelope_id="e1")
        emit(session, org_id, "envelope.signed", at=now, envelope_id="e1")
        # nothing written yet inside the block (the ORM does not know these rows)
        assert session.scalars(select(AuditEvent).where(AuditEvent.actor == "test")).all() == []
    with rt.transaction(write=False) as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.actor == "test").order_by(AuditEvent.id)
        ).all()
        events = session.scalars(select(Event).order_by(Event.id)).all()
        jobs = session.scalars(select(Job).where(Job.kind == "webhook_fan_out")).all()
    assert actions == [f"test.step{n}" for n in range(5)]
    assert [e.type for e in events] == ["envelope.sent", "envelope.signed"]
    assert sorted(j.payload["event_key"] for j in jobs) == sorted(e.event_id for e in events)
    assert all(j.status == "queued" and j.id for j in jobs)


def test_an_error_inside_writes_nothing(rt: Runtime) -> None:
    org_id, _ = new_org(rt)
    with pytest.raises(RuntimeError), rt.transaction() as session, one_flush(session):
        record(session, org_id, "test.lost", at=rt.clock(), actor="test")
        raise RuntimeError("boom")
    with rt.transaction() as session:  # a later transaction of the same factory
        record(session, org_id, "test.kept", at=rt.clock(), actor="test")
    with rt.transaction(write=False) as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.actor == "test")).all()
    assert actions == ["test.kept"]
