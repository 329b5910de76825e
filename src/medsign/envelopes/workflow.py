"""Moving an envelope along: inviting order groups, completing, reminding, ending.

Order groups: signers with the same ``order`` sign in parallel; the next group is
invited only when every signer of the previous group has signed and their signature
is in the PDF (so later signers see earlier signatures). Every transition is audited
and emitted as an event (webhooks) in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.documents.models import Document
from medsign.domain.policy import API_ONLY_METHODS, DocumentKind, Method, Role
from medsign.domain.states import EnvelopeStatus, SignerStatus, envelope_move, signer_move
from medsign.envelopes.models import Envelope, Signer
from medsign.envelopes.queries import lock_envelope_by_id
from medsign.events.service import emit
from medsign.jobs.outbox import JobKind, enqueue
from medsign.patients.models import Patient
from medsign.patients.service import create_agreement

# Envelopes a feature above this package waits on: a telemedicine consent may hold a
# slot in the patient cabinet (medsign.schedule.holds). Their signature or end is
# queued as a FOLLOW_UP job for it, so envelopes never import the feature (DESIGN.md
# "Architecture": the outbox is the only seam).
FOLLOWED_KINDS = frozenset({DocumentKind.TELEMEDICINE_CONSENT.value})


def follow_up(session: Session, env: Envelope, *, now: datetime) -> None:
    """Queue the follow-up of ``env`` (a signature was recorded or it ended) when it is
    of a kind another feature waits on; nothing otherwise."""
    if env.kind in FOLLOWED_KINDS:
        enqueue(session, JobKind.FOLLOW_UP, {"envelope_id": env.id}, now=now)


def _signing(env: Envelope) -> list[Signer]:
    return [s for s in env.signers if s.role != Role.VIEWER.value]


def invite_due(session: Session, env: Envelope, *, now: datetime) -> list[Signer]:
    """Invite the lowest order group that has not finished; return who was invited.

    Signers with method ``seal`` or ``external`` get no message: the MIS acts via the
    API; method ``device`` gets its signature prepared for the clinician's devices.
    """
    pending = [s for s in _signing(env) if s.sealed_at is None]
    if not pending:
        return []
    group = min(s.order for s in pending)
    invited = []
    for signer in pending:
        if signer.order == group and signer.status == SignerStatus.WAITING.value:
            signer.status = signer_move(SignerStatus(signer.status), SignerStatus.NOTIFIED)
            signer.notified_at = now
            if signer.method == Method.DEVICE.value:
                # The clinician's devices get a prepared signature (medsign.clinicians).
                enqueue(session, JobKind.DEVICE_PREPARE, {"signer_id": signer.id}, now=now)
            elif signer.method not in API_ONLY_METHODS:
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


def advance(
    session: Session, env: Envelope, *, now: datetime, document: Document | None = None
) -> None:
    """After signatures were applied: complete the envelope or invite the next group.
    ``document``: the envelope's document when the caller has it loaded already."""
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
        emit(
            session,
            env.organization_id,
            "envelope.completed",
            at=now,
            envelope_id=env.id,
            data={"sha256": env.current_sha256},
        )
        for signer in env.signers:  # viewers get the final copy; signers too
            if signer.role == Role.VIEWER.value:
                signer.status = signer_move(SignerStatus(signer.status), SignerStatus.NOTIFIED)
                signer.notified_at = now
            enqueue(
                session, JobKind.NOTICE, {"signer_id": signer.id, "notice": "completed"}, now=now
            )
        # The certificate of completion and the B-LTA archive (medsign.evidence).
        enqueue(session, JobKind.EVIDENCE, {"envelope_id": env.id}, now=now)
        _edo_agreement_from(session, env, now, document)
        return
    invite_due(session, env, now=now)


def _edo_agreement_from(
    session: Session, env: Envelope, now: datetime, document: Document | None
) -> None:
    """A completed envelope of kind ``edo_agreement`` is the patient's EDO agreement."""
    doc = document if document is not None else session.get(Document, env.document_id)
    assert doc is not None and doc.id == env.document_id
    if doc.kind != DocumentKind.EDO_AGREEMENT.value:
        return
    for signer in _signing(env):
        if signer.patient_id and signer.role in (Role.PATIENT.value, Role.REPRESENTATIVE.value):
            patient = session.get(Patient, signer.patient_id)
            assert patient is not None
            create_agreement(
                session,
                env.organization_id,
                patient,
                source="envelope",
                now=now,
                valid_until=None,
                document_id=doc.id,
                envelope_id=env.id,
            )


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
    emit(
        session,
        env.organization_id,
        f"envelope.{target.value}",
        at=now,
        envelope_id=env.id,
        data={k: v for k, v in data.items() if k in ("signer_id", "reason")},
    )
    follow_up(session, env, now=now)
    if target is EnvelopeStatus.DECLINED:
        for signer in env.signers:  # tell everyone who already signed
            if signer.status == SignerStatus.SIGNED.value:
                enqueue(
                    session,
                    JobKind.NOTICE,
                    {"signer_id": signer.id, "notice": "declined"},
                    now=now,
                )


def expire_due(session: Session, *, now: datetime, limit: int = 100) -> int:
    """Expire envelopes past their date (run by the worker); return how many."""
    ids = session.scalars(
        select(Envelope.id)
        .where(Envelope.status == EnvelopeStatus.SENT.value, Envelope.expires_at <= now)
        .order_by(Envelope.id)  # envelopes are locked in id order (docs/concurrency.md)
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


def remind_due(
    session: Session, schedule: list[timedelta], *, now: datetime, limit: int = 200
) -> int:
    """Send reminders to invited signers who have not acted, on ``schedule`` (delays
    after the invitation, e.g. 1, 3 and 7 days); return how many were queued."""
    if not schedule:
        return 0
    candidates = session.scalars(
        select(Signer)
        .join(Envelope, Envelope.id == Signer.envelope_id)
        .where(
            Envelope.status == EnvelopeStatus.SENT.value,
            Envelope.expires_at > now,
            Signer.status == SignerStatus.NOTIFIED.value,
            Signer.method.not_in((*API_ONLY_METHODS, Method.DEVICE.value)),
            Signer.reminders_sent < len(schedule),
        )
        .order_by(Signer.id)
        .limit(limit)
        # Two workers sweeping at once split the signers instead of both reminding one;
        # a row a signing transaction holds is left for the next sweep.
        .with_for_update(of=Signer, skip_locked=True)
    ).all()
    count = 0
    for signer in candidates:
        assert signer.notified_at is not None
        if now < signer.notified_at + schedule[signer.reminders_sent]:
            continue
        signer.reminders_sent += 1
        signer.last_reminded_at = now
        enqueue(session, JobKind.INVITE, {"signer_id": signer.id, "reminder": True}, now=now)
        record(
            session,
            signer.envelope.organization_id,
            "signer.reminded",
            at=now,
            actor="system",
            envelope_id=signer.envelope_id,
            data={"signer_id": signer.id, "reminder": signer.reminders_sent},
        )
        count += 1
    return count
