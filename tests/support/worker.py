"""Running the outbox worker deterministically inside a test."""

from __future__ import annotations

from sqlalchemy import func, select

from medsign.events.models import Event
from medsign.jobs.handlers import build_handlers
from medsign.jobs.outbox import JobCall, JobKind
from medsign.jobs.worker import run_one
from medsign.runtime import Runtime
from medsign.webhooks.fanout import fan_out_events


def drain(rt: Runtime, limit: int = 100) -> int:
    """Run due jobs until none is left; return how many ran."""
    handlers = build_handlers(rt)
    count = 0
    while count < limit and run_one(rt, handlers):
        count += 1
    return count


def fan_out(rt: Runtime) -> None:
    """Create the webhook deliveries of every event so far, as the fan-out jobs would,
    without running any other job (their jobs stay queued and find nothing left)."""
    with rt.transaction() as session:
        pending = session.execute(
            select(Event.organization_id, func.max(Event.id))
            .where(Event.fanned_out_at.is_(None))
            .group_by(Event.organization_id)
        ).all()
    for organization_id, up_to in pending:
        payload = {"organization_id": organization_id, "event": up_to}
        fan_out_events(rt, JobCall("test", JobKind.WEBHOOK_FAN_OUT.value, 1, payload))
