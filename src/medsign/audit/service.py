"""Appending to the per-organization hash chain (shared/DESIGN.md "Audit log").

Each event's hash is SHA-256 over the previous event's hash and the canonical JSON
(RFC 8785-style: sorted keys, no spaces) of the event, so any edit, insertion or
deletion breaks every later link.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from medsign.audit.models import AuditEvent
from medsign.organizations.models import Organization

GENESIS = "0" * 64


def event_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    action: str,
    actor: str,
    envelope_id: str | None,
    data: dict[str, Any],
) -> str:
    """The chained hash of one event."""
    body = json.dumps(
        {
            "seq": seq,
            "at": at.isoformat(),
            "action": action,
            "actor": actor,
            "envelope_id": envelope_id,
            "data": data,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(prev_hash.encode() + body.encode()).hexdigest()


def record(
    session: Session,
    organization_id: str,
    action: str,
    *,
    at: datetime,
    actor: str,
    envelope_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event in the caller's transaction (serialized per organization)."""
    # Lock the organization row so two transactions never extend the chain at once
    # (PostgreSQL); SQLite transactions are already serialized by BEGIN IMMEDIATE.
    session.execute(
        select(Organization.id).where(Organization.id == organization_id).with_for_update()
    )
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.organization_id == organization_id)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    payload = data or {}
    event = AuditEvent(
        organization_id=organization_id,
        seq=seq,
        at=at,
        action=action,
        actor=actor,
        envelope_id=envelope_id,
        data=payload,
        prev_hash=prev,
        hash=event_hash(prev, seq, at, action, actor, envelope_id, payload),
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    """Result of walking one organization's chain."""

    events: int
    first_broken_seq: int | None

    @property
    def intact(self) -> bool:
        """True when every link holds."""
        return self.first_broken_seq is None


def verify_chain(session: Session, organization_id: str) -> ChainReport:
    """Recompute every hash of the organization's chain; report the first broken link."""
    prev = GENESIS
    count = 0
    expected_seq = 1
    for ev in session.scalars(
        select(AuditEvent)
        .where(AuditEvent.organization_id == organization_id)
        .order_by(AuditEvent.seq)
    ):
        count += 1
        ok = (
            ev.seq == expected_seq
            and ev.prev_hash == prev
            and ev.hash
            == event_hash(prev, ev.seq, ev.at, ev.action, ev.actor, ev.envelope_id, ev.data)
        )
        if not ok:
            return ChainReport(count, ev.seq)
        prev = ev.hash
        expected_seq += 1
    return ChainReport(count, None)
