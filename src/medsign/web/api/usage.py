"""``GET /api/v1/usage`` and ``GET /api/v1/usage.csv``: metered usage of a range of days.

An organization token sees the whole organization or, with ``branch_id``, one branch;
a branch token sees its own branch only (another ``branch_id`` is a 404). Days are
calendar days in ``MEDSIGN_TIME_ZONE``; both ends of the range are included.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from medsign.branches.service import resolve_branch
from medsign.usage.schemas import UsageOut
from medsign.usage.service import csv_text, parse_range, usage_rows, usage_summary
from medsign.web.deps import org_transaction

router = APIRouter(prefix="/api/v1", tags=["usage"])

From = Annotated[
    str, Query(alias="from", max_length=20, description="First day (YYYY-MM-DD), included.")
]
To = Annotated[str, Query(max_length=20, description="Last day (YYYY-MM-DD), included.")]
BranchId = Annotated[
    str | None, Query(max_length=36, description="Only this branch (default: all visible).")
]


@router.get("/usage", response_model=UsageOut, response_model_by_alias=True)
def usage(request: Request, start: From, to: To, branch_id: BranchId = None) -> UsageOut:
    """Signatures by method, SMS messages and segments, and emails in the range."""
    with org_transaction(request) as (session, org_id):
        first, last = parse_range(start, to)
        branch = resolve_branch(session, org_id, branch_id)
        return usage_summary(session, org_id, branch, first, last)


@router.get(
    "/usage.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def usage_csv(request: Request, start: From, to: To, branch_id: BranchId = None) -> Response:
    """The same range as CSV (RFC 4180): one row per day, branch and metric."""
    with org_transaction(request) as (session, org_id):
        first, last = parse_range(start, to)
        branch = resolve_branch(session, org_id, branch_id)
        rows = usage_rows(session, org_id, branch, first, last)
    name = f"usage-{first.isoformat()}-{last.isoformat()}.csv"
    return Response(
        csv_text(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
