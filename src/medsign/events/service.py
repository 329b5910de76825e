"""Emitting envelope events in the caller's transaction.

Payloads carry ids and links, not documents or personal data (issue [integration]).
Each event fans out, in the same transaction, into one webhook delivery (and one outbox
job) per subscription that wants it (:func:`medsign.webhooks.service.fan_out`), so a
committed change always reaches its subscribers and a rolled-back one never does.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from medsign.events.models import Event

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
    """Record an event and queue its webhook deliveries; its ``event_id`` becomes the
    ``webhook-id`` of every delivery."""
    from medsign.webhooks.service import fan_out  # webhooks import this module's names

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
    session.add(event)
    fan_out(session, event)
    return event
