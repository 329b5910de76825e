"""Moving an envelope along: inviting order groups, completing, expiring, ending.

Order groups: signers with the same ``order`` sign in parallel; the next group is
invited only when every signer of the previous group has signed and their signature
is in the PDF (so later signers see earlier signatures).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.domain.policy import Role
from medsign.domain.states import EnvelopeStatus, SignerStatus, envelope_move, signer_move
from medsign.envelopes.models import Envelope, Signer
from medsign.envelopes.queries import lock_envelope_by_id
from medsign.jobs.outbox import JobKind, enqueue


def _signing(env: Envelope) -> list[Signer]:
    return [s for s in env.signers if s.role != Role.VIEWER.value]


def invite_due(session: Session, env: Envelope, *, now: datetime) -> list[Signer]:
    """Invite the lowest order group that has not finished; return who was invited."""
    pending = [s for s in _signing(env) if s.sealed_at is None]
    if not pending:
        return []
    group = min(s.order for s in pending)
    invited = []
    for signer in pending:
        if signer.order == group and signer.status == SignerStatus.WAITING.value:
            signer.status = signer_move(SignerStatus(signer.status), SignerStatus.NOTIFIED)
            signer.notified_at = now
            enqueue(session, JobKind.INVITE, {"signer_id": signer.id}, now=now)
            record(
                session,
                env.organization_id,
                "signer.invited",
                at=now,
                actor="system",
                envelope_id=env.id,
                data={"signer_id": signer.id, "order": signer.order, "method": signer.method},
            )
            invited.append(signer)
    return invited


def advance(session: Session, env: Envelope, *, now: datetime) -> None:
    """After signatures were applied: complete the envelope or invite the next group."""
    if env.status != EnvelopeStatus.SENT.value:
        return
    if all(s.sealed_at is not None for s in _signing(env)):
        env.status = envelope_move(EnvelopeStatus(env.status), EnvelopeStatus.COMPLETED)
        env.completed_at = now
        env.updated_at = now
        record(
            session,
            env.organization_id,
            "envelope.completed",
            at=now,
            actor="system",
            envelope_id=env.id,
            data={"sha256": env.current_sha256, "version": env.version},
        )
        return
    invite_due(session, env, now=now)


def end_envelope(
    session: Session,
    env: Envelope,
    target: EnvelopeStatus,
    *,
    now: datetime,
    actor: str,
    data: dict[str, object],
) -> None:
    """Move the envelope to a terminal state; unfinished signers are cancelled."""
    env.status = envelope_move(EnvelopeStatus(env.status), target)
    env.updated_at = now
    for signer in env.signers:
        if signer.status in (SignerStatus.WAITING.value, SignerStatus.NOTIFIED.value):
            signer.status = SignerStatus.CANCELLED.value
    record(
        session,
        env.organization_id,
        f"envelope.{target.value}",
        at=now,
        actor=actor,
        envelope_id=env.id,
        data=dict(data),
    )


def expire_due(session: Session, *, now: datetime, limit: int = 100) -> int:
    """Expire envelopes past their date (run by the worker); return how many."""
    ids = session.scalars(
        select(Envelope.id)
        .where(Envelope.status == EnvelopeStatus.SENT.value, Envelope.expires_at <= now)
        .limit(limit)
    ).all()
    count = 0
    for envelope_id in ids:
        env = lock_envelope_by_id(session, envelope_id)
        if env is None or env.status != EnvelopeStatus.SENT.value:
            continue
        end_envelope(
            session,
            env,
            EnvelopeStatus.EXPIRED,
            now=now,
            actor="system",
            data={"expires_at": env.expires_at.isoformat()},
        )
        count += 1
    return count
