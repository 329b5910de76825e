"""``GET /api/v1/envelopes`` and ``GET /api/v1/documents``: polling with cursors.

Kept beside (not inside) the envelope and document modules so each stays small; the
routes share their paths' tags in the OpenAPI document. Order and filter semantics are
in :mod:`medsign.listing.service`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from medsign.domain.policy import DocumentKind
from medsign.domain.states import EnvelopeStatus
from medsign.envelopes.schemas import EnvelopeOut
from medsign.envelopes.service import envelope_out
from medsign.listing.service import list_documents, list_envelopes
from medsign.web.deps import org_transaction, runtime

router = APIRouter()

Limit = Annotated[int, Query(ge=1, le=200, description="Items per page (1 to 200).")]
Cursor = Annotated[
    str | None,
    Query(max_length=500, description="`next_cursor` of the previous page (opaque)."),
]
UpdatedSince = Annotated[
    datetime | None,
    Query(
        description="Only items updated at or after this instant (ISO 8601 with a zone).",
        examples=["2026-11-23T09:00:00Z"],
    ),
]
UpdatedBefore = Annotated[
    datetime | None,
    Query(
        description="Only items updated before this instant (exclusive; ISO 8601 with a zone).",
        examples=["2026-11-24T09:00:00Z"],
    ),
]
Order = Annotated[
    Literal["asc", "desc"],
    Query(
        description="`asc`: oldest change first (polling); `desc`: newest first. Pass the "
        "same order with `cursor`."
    ),
]
BranchId = Annotated[
    str | None,
    Query(
        max_length=36,
        description="Only items of this branch (a branch token always sees only its own).",
    ),
]
PatientMisId = Annotated[
    str | None,
    Query(max_length=100, description="Only items with a signer of this MIS patient id."),
]


class EnvelopeItem(EnvelopeOut):
    """An envelope in a list: its state plus the sort key and its document's kind."""

    updated_at: datetime
    kind: str


class EnvelopePage(BaseModel):
    """A page of envelopes, ordered by ``(updated_at, id)`` (descending with ``order=desc``)."""

    items: list[EnvelopeItem]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class DocumentItem(BaseModel):
    """A document in a list."""

    id: str
    sha256: str
    pages: int
    kind: str
    title: str
    created_at: datetime
    updated_at: datetime
    branch_id: str | None = None


class DocumentPage(BaseModel):
    """A page of documents, ordered by ``(updated_at, id)`` (documents never change)."""

    items: list[DocumentItem]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


_BRANCH: dict[int | str, dict[str, Any]] = {
    404: {"description": "`branch_id` names no branch of this organization."}
}


@router.get("/api/v1/envelopes", response_model=EnvelopePage, tags=["envelopes"], responses=_BRANCH)
def envelopes(
    request: Request,
    limit: Limit = 50,
    cursor: Cursor = None,
    status: Annotated[EnvelopeStatus | None, Query()] = None,
    patient_mis_id: PatientMisId = None,
    kind: Annotated[DocumentKind | None, Query()] = None,
    updated_since: UpdatedSince = None,
    updated_before: UpdatedBefore = None,
    branch_id: BranchId = None,
    order: Order = "asc",
) -> EnvelopePage:
    """The organization's envelopes, oldest change first (polling integrations) or
    newest first (``order=desc``)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        page = list_envelopes(
            session,
            org_id,
            limit=limit,
            cursor=cursor,
            status=status.value if status else None,
            patient_mis_id=patient_mis_id,
            kind=kind.value if kind else None,
            updated_since=updated_since,
            updated_before=updated_before,
            branch_id=branch_id,
            newest_first=order == "desc",
        )
        items = [
            EnvelopeItem(
                **envelope_out(env, rt.keyring, rt.settings.public_url).model_dump(),
                updated_at=env.updated_at,
                kind=doc_kind,
            )
            for env, doc_kind in page.items
        ]
        return EnvelopePage(items=items, next_cursor=page.next_cursor)


@router.get("/api/v1/documents", response_model=DocumentPage, tags=["documents"], responses=_BRANCH)
def documents(
    request: Request,
    limit: Limit = 50,
    cursor: Cursor = None,
    kind: Annotated[DocumentKind | None, Query()] = None,
    patient_mis_id: PatientMisId = None,
    updated_since: UpdatedSince = None,
    updated_before: UpdatedBefore = None,
    branch_id: BranchId = None,
    order: Order = "asc",
) -> DocumentPage:
    """The organization's documents, oldest first (polling integrations) or newest
    first (``order=desc``)."""
    with org_transaction(request) as (session, org_id):
        page = list_documents(
            session,
            org_id,
            limit=limit,
            cursor=cursor,
            kind=kind.value if kind else None,
            patient_mis_id=patient_mis_id,
            updated_since=updated_since,
            updated_before=updated_before,
            branch_id=branch_id,
            newest_first=order == "desc",
        )
        return DocumentPage(
            items=[
                DocumentItem(
                    id=d.id,
                    sha256=d.sha256,
                    pages=d.pages,
                    kind=d.kind,
                    title=d.title,
                    created_at=d.created_at,
                    updated_at=d.created_at,
                    branch_id=d.branch_id,
                )
                for d in page.items
            ],
            next_cursor=page.next_cursor,
        )
