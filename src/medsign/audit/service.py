"""Appending audit events (shared/DESIGN.md "Audit log").

``record`` only inserts a row in the caller's transaction: no shared row is read or
locked, so any number of transactions of one organization append at once. The
sequencer (:mod:`medsign.audit.sequencer`) later gives each event its place in the
RFC 9162 Merkle tree; :func:`leaf_data` is what the tree commits to.

Events written before migration 0008 are also links of the first release's
per-organization hash chain; :func:`verify_chain` still checks those links.
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
from medsign.db.one_flush import insert_later

GENESIS = "0" * 64


def _canonical(value: dict[str, Any]) -> bytes:
    """Canonical JSON (RFC 8785-style: sorted keys, no spaces, UTF-8)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def leaf_data(event: AuditEvent) -> bytes:
    """The bytes the Merkle tree commits to for ``event`` (its leaf, RFC 9162 §2.1.1).

    Everything that describes the event, its row id included, so that an edited,
    moved or swapped row changes the leaf.
    """
    return _canonical(
        {
            "v": 1,
            "id": event.id,
            "organization_id": event.organization_id,
            "at": event.at.isoformat(),
            "action": event.action,
            "actor": event.actor,
            "envelope_id": event.envelope_id,
            "data": event.data,
        }
    )


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
    """Append an event in the caller's transaction; it locks nothing but its own row."""
    event = AuditEvent(
        organization_id=organization_id,
        at=at,
        action=action,
        actor=actor,
        envelope_id=envelope_id,
        data=data or {},
    )
    if not insert_later(session, event):  # medsign.db.one_flush: written at its end
        session.add(event)
        session.flush()
    return event


def event_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    action: str,
    actor: str,
    envelope_id: str | None,
    data: dict[str, Any],
) -> str:
    """The chained hash of one event of the first release's chain."""
    body = _canonical(
        {
            "seq": seq,
            "at": at.isoformat(),
            "action": action,
            "actor": actor,
            "envelope_id": envelope_id,
            "data": data,
        }
    )
    return hashlib.sha256(prev_hash.encode() + body).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    """Result of walking one organization's chain (events before migration 0008)."""

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
        .where(AuditEvent.organization_id == organization_id, AuditEvent.seq.is_not(None))
        .order_by(AuditEvent.seq)
    ):
        count += 1
        assert ev.seq is not None
        ok = (
            ev.seq == expected_seq
            and ev.prev_hash == prev
            and ev.hash
            == event_hash(prev, ev.seq, ev.at, ev.action, ev.actor, ev.envelope_id, ev.data)
        )
        if not ok or ev.hash is None:
            return ChainReport(count, ev.seq)
        prev = ev.hash
        expected_seq += 1
    return ChainReport(count, None)
