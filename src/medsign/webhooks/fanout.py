"""The ``webhook_fan_out`` job: turn an organization's new events into deliveries.

``medsign.events.service.emit`` records an event and enqueues this job in the same
transaction (the outbox carries the event up to this package). The handler fans out,
in event order, every event of the organization up to the job's one that has not been
fanned out yet, and marks each one, all in one transaction:

- once: a job taken again after its lease, or a second job that got there first,
  finds the events marked and does nothing;
- in order: the events are locked in id order, so two fan-outs of one organization
  running side by side queue their deliveries in event order (an envelope's webhooks
  arrive in the order of its events, medsign.webhooks.delivery).
"""

from __future__ import annotations

from sqlalchemy import select

from medsign.events.models import Event
from medsign.jobs.outbox import JobCall
from medsign.runtime import Runtime
from medsign.webhooks.service import fan_out


def fan_out_events(rt: Runtime, call: JobCall) -> None:
    """Create the webhook deliveries of the job's event and of any earlier event of its
    organization still waiting (see the module doc)."""
    organization_id = str(call.payload["organization_id"])
    with rt.transaction() as session:
        if "event" in call.payload:
            up_to = int(call.payload["event"])
        else:  # emitted inside medsign.db.one_flush: named by its key
            found = session.scalar(
                select(Event.id).where(Event.event_id == str(call.payload["event_key"]))
            )
            if found is None:
                return
            up_to = found
        events = session.scalars(
            select(Event)
            .where(
                Event.organization_id == organization_id,
                Event.fanned_out_at.is_(None),
                Event.id <= up_to,
            )
            .order_by(Event.id)
            .with_for_update()
        ).all()
        now = rt.clock()
        for event in events:
            fan_out(session, event)
            event.fanned_out_at = now
