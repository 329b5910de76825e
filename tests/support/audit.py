"""Audit-log helpers: the first release's chain as it was written, and tampering."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from medsign.audit.checkpoints import AuditCheckpoint, checkpoint_digest
from medsign.audit.models import AuditEvent
from medsign.audit.service import GENESIS, event_hash
from medsign.audit.verify import LogReport, verify_log
from medsign.runtime import Runtime


def write_legacy_chain(rt: Runtime, organization_id: str, count: int) -> None:
    """Append ``count`` events linked as the first release did (seq, prev_hash, hash),
    with a time-stamped checkpoint of the head, as a database migrated from it holds."""
    with rt.transaction() as session:
        prev, seq = GENESIS, 0
        for i in range(count):
            seq += 1
            at = rt.clock() - timedelta(days=30, minutes=count - i)
            data = {"n": i}
            h = event_hash(prev, seq, at, "legacy.event", "system", None, data)
            session.add(
                AuditEvent(
                    organization_id=organization_id,
                    at=at,
                    action="legacy.event",
                    actor="system",
                    envelope_id=None,
                    data=data,
                    seq=seq,
                    prev_hash=prev,
                    hash=h,
                )
            )
            prev = h
        token = rt.seal_keys.timestamper().timestamp(checkpoint_digest(organization_id, seq, prev))
        session.add(
            AuditCheckpoint(
                organization_id=organization_id,
                seq=seq,
                head_hash=prev,
                created_at=rt.clock(),
                timestamp_token=token,
            )
        )


def verify(rt: Runtime) -> LogReport:
    """:func:`verify_log` in its own transaction."""
    with rt.transaction() as session:
        return verify_log(session, rt.audit_log.key)


def event_ids(rt: Runtime, organization_id: str) -> list[int]:
    """The organization's event ids, oldest first."""
    with rt.transaction() as session:
        return list(
            session.scalars(
                select(AuditEvent.id)
                .where(AuditEvent.organization_id == organization_id)
                .order_by(AuditEvent.id)
            )
        )
