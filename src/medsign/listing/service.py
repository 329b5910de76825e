"""Queries behind ``GET /api/v1/envelopes`` and ``GET /api/v1/documents``.

Items come in a stable order, ``(updated_at, id)`` ascending, and a cursor resumes after
the last item returned (keyset pagination: no item is skipped or repeated while nothing
changes; an item that changes moves to the end and is seen again). A plugin that syncs
every N minutes remembers the ``updated_at`` of the last item it processed and passes
it back as ``updated_since`` (inclusive, so an item updated in that same instant is
not missed; it may come once more).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from medsign.branches.scope import current_branch
from medsign.documents.models import Document
from medsign.envelopes.models import Envelope, Signer
from medsign.errors import InvalidInput
from medsign.pagination import decode_cursor, encode_cursor

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """Items of one page and the cursor of the next (None on the last page)."""

    items: list[T]
    next_cursor: str | None


def _position(cursor: str) -> tuple[datetime, str]:
    when, ident = decode_cursor(cursor, 2)
    try:
        at = datetime.fromisoformat(str(when))
    except ValueError as exc:
        raise InvalidInput("The cursor is not valid; pass back `next_cursor` as is.") from exc
    if at.tzinfo is None or not isinstance(ident, str):
        raise InvalidInput("The cursor is not valid; pass back `next_cursor` as is.")
    return at, ident


def _aware(updated_since: datetime | None) -> None:
    if updated_since is not None and updated_since.tzinfo is None:
        raise InvalidInput(
            "`updated_since` needs a time zone, e.g. 2026-11-23T09:00:00Z.", field="updated_since"
        )


def list_envelopes(
    session: Session,
    organization_id: str,
    *,
    limit: int,
    cursor: str | None = None,
    status: str | None = None,
    patient_mis_id: str | None = None,
    kind: str | None = None,
    updated_since: datetime | None = None,
) -> Page[tuple[Envelope, str]]:
    """A page of the organization's envelopes (each with its document's kind); a branch
    token gets only its branch's (:mod:`medsign.branches.scope`)."""
    _aware(updated_since)
    query = (
        select(Envelope, Document.kind)
        .join(Document, Document.id == Envelope.document_id)
        .where(Envelope.organization_id == organization_id)
        .options(selectinload(Envelope.signers))
    )
    if (branch := current_branch()) is not None:
        query = query.where(Envelope.branch_id == branch)  # a branch token: its own only
    if status is not None:
        query = query.where(Envelope.status == status)
    if kind is not None:
        query = query.where(Document.kind == kind)
    if patient_mis_id is not None:
        query = query.where(
            select(Signer.id)
            .where(Signer.envelope_id == Envelope.id, Signer.patient_mis_id == patient_mis_id)
            .exists()
        )
    if updated_since is not None:
        query = query.where(Envelope.updated_at >= updated_since)
    if cursor is not None:
        at, ident = _position(cursor)
        query = query.where(
            or_(Envelope.updated_at > at, and_(Envelope.updated_at == at, Envelope.id > ident))
        )
    rows = session.execute(query.order_by(Envelope.updated_at, Envelope.id).limit(limit + 1)).all()
    items = [(r[0], str(r[1])) for r in rows[:limit]]
    last = items[-1][0] if items else None
    next_cursor = (
        encode_cursor(last.updated_at.isoformat(), last.id)
        if len(rows) > limit and last is not None
        else None
    )
    return Page(items, next_cursor)


def list_documents(
    session: Session,
    organization_id: str,
    *,
    limit: int,
    cursor: str | None = None,
    kind: str | None = None,
    patient_mis_id: str | None = None,
    updated_since: datetime | None = None,
) -> Page[Document]:
    """A page of the organization's documents (immutable: ``updated_at`` = created)."""
    _aware(updated_since)
    query = select(Document).where(Document.organization_id == organization_id)
    if (branch := current_branch()) is not None:
        query = query.where(Document.branch_id == branch)  # a branch token: its own only
    if kind is not None:
        query = query.where(Document.kind == kind)
    if patient_mis_id is not None:
        query = query.where(
            select(Envelope.id)
            .join(Signer, Signer.envelope_id == Envelope.id)
            .where(Envelope.document_id == Document.id, Signer.patient_mis_id == patient_mis_id)
            .exists()
        )
    if updated_since is not None:
        query = query.where(Document.created_at >= updated_since)
    if cursor is not None:
        at, ident = _position(cursor)
        query = query.where(
            or_(Document.created_at > at, and_(Document.created_at == at, Document.id > ident))
        )
    rows = list(session.scalars(query.order_by(Document.created_at, Document.id).limit(limit + 1)))
    items = rows[:limit]
    next_cursor = (
        encode_cursor(items[-1].created_at.isoformat(), items[-1].id) if len(rows) > limit else None
    )
    return Page(items, next_cursor)
