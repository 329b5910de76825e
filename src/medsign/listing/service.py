"""Queries behind ``GET /api/v1/envelopes`` and ``GET /api/v1/documents``.

Items come in a stable order, ``(updated_at, id)`` ascending (or descending, newest
first, on request), and a cursor resumes after the last item returned (keyset
pagination: no item is skipped or repeated while nothing changes; an item that changes
moves to the end and is seen again). A plugin that syncs every N minutes remembers the
``updated_at`` of the last item it processed and passes it back as ``updated_since``
(inclusive, so an item updated in that same instant is not missed; it may come once
more); ``updated_before`` (exclusive) closes a date range.

Every query shape is answered from a B-tree whose columns are the equality filters
followed by the sort key (migration 0010), so a page costs the same at any depth: the
cursor is a row-value comparison ``(updated_at, id) > (:at, :id)`` that the index
seeks to, never an OFFSET. Bench: bench/tables.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar, TypeVarTuple

from sqlalchemy import ColumnElement, CompoundSelect, Select, literal, select, tuple_, union
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from medsign.branches.service import resolve_branch
from medsign.db.base import UTCDateTime
from medsign.documents.models import Document
from medsign.envelopes.models import Envelope, Signer
from medsign.errors import InvalidInput
from medsign.pagination import decode_cursor, encode_cursor
from medsign.patients.models import Patient

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


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


def _keyset(
    query: Select[*Ts],
    when: InstrumentedAttribute[datetime],
    ident: InstrumentedAttribute[str],
    cursor: str | None,
    newest_first: bool,
) -> Select[*Ts]:
    """``query`` ordered by ``(when, ident)`` and resumed after ``cursor`` (keyset
    pagination); a row-value comparison, so the index on ``(..., when, ident)`` seeks to
    the cursor instead of filtering (a disjunction of two conditions would not)."""
    if cursor is not None:
        at, last = _position(cursor)
        key, after = tuple_(when, ident), tuple_(literal(at, UTCDateTime()), literal(last))
        query = query.where(key < after if newest_first else key > after)
    if newest_first:
        return query.order_by(when.desc(), ident.desc())
    return query.order_by(when, ident)


def _window(
    when: InstrumentedAttribute[datetime],
    updated_since: datetime | None,
    updated_before: datetime | None,
) -> list[ColumnElement[bool]]:
    """The conditions of a date range: since inclusive, before exclusive."""
    for name, value in (("updated_since", updated_since), ("updated_before", updated_before)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(
                f"`{name}` needs a time zone, e.g. 2026-11-23T09:00:00Z.", field=name
            )
    out = []
    if updated_since is not None:
        out.append(when >= updated_since)
    if updated_before is not None:
        out.append(when < updated_before)
    return out


def _patient_envelopes(organization_id: str, mis_id: str) -> CompoundSelect[str]:
    """Ids of the envelopes with a signer of this MIS patient id.

    A patient or representative signer points at the organization's patient card
    (``patient_id``), found through ``uq_patients_organization_id``: MIS ids repeat
    across organizations (each clinic numbers its own patients), so looking the bare id
    up among all signers would visit every organization's patient of that number. The
    other signers that carry a ``patient_mis_id`` (no card) are few and have their own
    partial index, ``ix_signers_patient_mis_id``.
    """
    card = select(Patient.id).where(
        Patient.organization_id == organization_id, Patient.mis_id == mis_id
    )
    return union(
        select(Signer.envelope_id).where(Signer.patient_id.in_(card)),
        select(Signer.envelope_id).where(
            Signer.patient_id.is_(None),
            Signer.patient_mis_id.is_not(None),
            Signer.patient_mis_id == mis_id,
        ),
    )


def _named_envelopes(prefix: str) -> Select[str]:
    """Ids of the envelopes with a signer whose name starts with ``prefix``: a range the
    name index seeks to, and LIKE (escaped) for what a collation might put in range."""
    return select(Signer.envelope_id).where(
        Signer.name >= prefix,
        Signer.name < prefix + "\U0010ffff",
        Signer.name.startswith(prefix, autoescape=True),
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
    updated_before: datetime | None = None,
    branch_id: str | None = None,
    newest_first: bool = False,
    signer_name_prefix: str | None = None,
) -> Page[tuple[Envelope, str]]:
    """A page of the organization's envelopes (each with its document's kind); a branch
    token gets only its branch's (:mod:`medsign.branches.scope`), an organization token
    may ask for one branch's (``branch_id``; another organization's is a 404).
    ``signer_name_prefix`` keeps envelopes with a signer whose name starts with it (the
    console's patient search: a range on ``ix_signers_name``, migration 0022)."""
    window = _window(Envelope.updated_at, updated_since, updated_before)
    query = (
        select(Envelope, Envelope.kind)
        .where(Envelope.organization_id == organization_id, *window)
        .options(selectinload(Envelope.signers))
    )
    if (branch := resolve_branch(session, organization_id, branch_id)) is not None:
        query = query.where(Envelope.branch_id == branch)
    if status is not None:
        query = query.where(Envelope.status == status)
    if kind is not None:
        query = query.where(Envelope.kind == kind)
    if patient_mis_id is not None:
        query = query.where(Envelope.id.in_(_patient_envelopes(organization_id, patient_mis_id)))
    if signer_name_prefix:
        query = query.where(Envelope.id.in_(_named_envelopes(signer_name_prefix)))
    query = _keyset(query, Envelope.updated_at, Envelope.id, cursor, newest_first)
    rows = session.execute(query.limit(limit + 1)).all()
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
    updated_before: datetime | None = None,
    branch_id: str | None = None,
    newest_first: bool = False,
) -> Page[Document]:
    """A page of the organization's documents (immutable: ``updated_at`` = created)."""
    window = _window(Document.created_at, updated_since, updated_before)
    query = select(Document).where(Document.organization_id == organization_id, *window)
    if (branch := resolve_branch(session, organization_id, branch_id)) is not None:
        query = query.where(Document.branch_id == branch)
    if kind is not None:
        query = query.where(Document.kind == kind)
    if patient_mis_id is not None:
        query = query.where(
            Document.id.in_(
                select(Envelope.document_id).where(
                    Envelope.id.in_(_patient_envelopes(organization_id, patient_mis_id))
                )
            )
        )
    query = _keyset(query, Document.created_at, Document.id, cursor, newest_first)
    rows = list(session.scalars(query.limit(limit + 1)))
    items = rows[:limit]
    next_cursor = (
        encode_cursor(items[-1].created_at.isoformat(), items[-1].id) if len(rows) > limit else None
    )
    return Page(items, next_cursor)
