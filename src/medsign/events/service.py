"""Emitting envelope events in the caller's transaction.

Payloads carry ids and links, not documents or personal data (issue [integration]).
``emit`` records the event and enqueues one ``webhook_fan_out`` job in the same
transaction; that job (a handler in ``medsign.webhooks``) creates the deliveries. So a
committed change always reaches its subscribers and a rolled-back one never does, and
this package never calls into ``webhooks`` (the outbox is the seam, DESIGN.md
"Architecture").
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from medsign.db.one_flush import insert_later
from medsign.events.models import Event
from medsign.jobs.outbox import JobKind, enqueue

ENVELOPE_EVENTS = (
    "envelope.sent",
    "envelope.signed",
    "envelope.completed",
    "envelope.declined",
    "envelope.expired",
    "envelope.voided",
    "envelope.signer_updated",
    "edo_agreement.created",
    "edo_agreement.revoked",
    "patient.attached",
    "patient.detached",
    "patient.file_shared",
    "patient.invite_completed",
    "record_request.created",
    "record_request.issued",
    "record_request.overdue",
    "appointment.created",
    "appointment.updated",
    "appointment.cancelled",
    "appointment.restored",
)


def emit(
    session: Session,
    organization_id: str,
    type_: str,
    *,
    at: datetime,
    envelope_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """Record an event and queue its fan-out into webhook deliveries; its ``event_id``
    becomes the ``webhook-id`` of every delivery."""
    assert type_ in ENVELOPE_EVENTS, type_
    payload = {"envelope_id": envelope_id, **(data or {})} if envelope_id else dict(data or {})
    event = Event(
        event_id=f"evt_{uuid.uuid4().hex}",
        organization_id=organization_id,
        envelope_id=envelope_id,
        type=type_,
        data=payload,
        created_at=at,
    )
    job: dict[str, Any] = {"organization_id": organization_id}
    if insert_later(session, event):
        # Inside medsign.db.one_flush the row has no id yet: the job names the event by
        # its unique key, and the fan-out looks its id up (the id orders deliveries).
        job["event_key"] = event.event_id
    else:
        session.add(event)
        session.flush()  # the event's id orders its deliveries
        job["event"] = event.id
    enqueue(session, JobKind.WEBHOOK_FAN_OUT, job, now=at)
    return event
