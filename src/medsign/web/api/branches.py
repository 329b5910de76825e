"""``/api/v1/branches``: an organization's branches (organization tokens only).

Tokens, documents, envelopes and webhook subscriptions may belong to a branch; a
branch-scoped token (``POST /api/v1/tokens {"name", "branch_id"}``) sees only its
branch's objects, everything else answers 404 (issue [integration], docs/integration.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from medsign.branches.models import Branch
from medsign.branches.service import create_branch, list_branches
from medsign.web.deps import org_transaction, runtime

router = APIRouter(prefix="/api/v1/branches", tags=["branches"])


class BranchIn(BaseModel):
    """``POST /api/v1/branches`` body; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200, examples=["Branch on Lenina St."])


class BranchOut(BaseModel):
    """A branch."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b9c2f43-5c1e-4b55-9a43-6f1d3f0e9a10",
                    "name": "Branch on Lenina St.",
                    "created_at": "2026-11-23T09:00:00Z",
                }
            ]
        }
    )

    id: str
    name: str
    created_at: datetime


class BranchList(BaseModel):
    """Every branch of the organization, oldest first."""

    items: list[BranchOut]


def _out(branch: Branch) -> BranchOut:
    return BranchOut(id=branch.id, name=branch.name, created_at=branch.created_at)


BRANCH_TOKEN: dict[int | str, dict[str, Any]] = {
    403: {"description": "A branch token: only organization tokens manage branches."}
}


@router.post("", status_code=201, response_model=BranchOut, responses=BRANCH_TOKEN)
def create(request: Request, body: BranchIn) -> BranchOut:
    """Create a branch (names are unique in the organization: 409 for a taken one)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        return _out(create_branch(session, org_id, body.name, now=rt.clock()))


@router.get("", response_model=BranchList, responses=BRANCH_TOKEN)
def list_all(request: Request) -> BranchList:
    """The organization's branches."""
    with org_transaction(request) as (session, org_id):
        return BranchList(items=[_out(b) for b in list_branches(session, org_id)])
