"""Loading envelopes and signers with the organization check and row locks."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from medsign.branches.scope import current_branch
from medsign.envelopes.models import Envelope, Signer
from medsign.errors import NotFound


def load_envelope(
    session: Session, organization_id: str, envelope_id: str, *, lock: bool = False
) -> Envelope:
    """The organization's envelope with its signers, or NotFound (also for other orgs,
    and, for a branch token, for any envelope outside its branch: issue [integration]
    "branch token touching another branch: 404")."""
    stmt = (
        select(Envelope)
        .where(Envelope.id == envelope_id, Envelope.organization_id == organization_id)
        .options(selectinload(Envelope.signers))
    )
    if (branch := current_branch()) is not None:
        stmt = stmt.where(Envelope.branch_id == branch)
    if lock:
        stmt = stmt.with_for_update(of=Envelope)
    env = session.scalars(stmt).first()
    if env is None:
        raise NotFound(f"No envelope with id {envelope_id} in this organization.")
    return env


def lock_envelope_by_id(session: Session, envelope_id: str) -> Envelope | None:
    """The envelope with its signers, row-locked for the rest of the transaction."""
    return session.scalars(
        select(Envelope)
        .where(Envelope.id == envelope_id)
        .options(selectinload(Envelope.signers))
        .with_for_update(of=Envelope)
        .execution_options(populate_existing=True)
    ).first()


def lock_envelopes_by_id(session: Session, envelope_ids: list[str]) -> list[Envelope]:
    """Several envelopes with their signers, row-locked in id order (docs/concurrency.md:
    a transaction that locks several envelopes locks them in id order)."""
    if not envelope_ids:
        return []
    return list(
        session.scalars(
            select(Envelope)
            .where(Envelope.id.in_(envelope_ids))
            .order_by(Envelope.id)
            .options(selectinload(Envelope.signers))
            .with_for_update(of=Envelope)
            .execution_options(populate_existing=True)
        )
    )


def signer_by_link_hash(session: Session, link_hash: str) -> Signer | None:
    """The signer whose current link hashes to ``link_hash``."""
    return session.scalars(select(Signer).where(Signer.link_hash == link_hash)).first()
