"""``/api/v1/tokens``: named API tokens, several per organization, revocable.

A token is shown once, at creation; only its keyed hash is stored (DESIGN.md
"Security floor"). Rotate without downtime: create a new token, deploy it, revoke the
old one (``DELETE``), which stops working with its next request.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from medsign.organizations.models import ApiToken
from medsign.organizations.service import create_token, list_tokens, revoke_token
from medsign.web.deps import org_transaction, runtime

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])


class TokenIn(BaseModel):
    """``POST /api/v1/tokens`` body."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100, examples=["Archimed+ sync"])
    branch_id: str | None = Field(
        default=None,
        max_length=64,
        description="Make a branch-scoped token: it sees only this branch's documents, "
        "envelopes and webhooks (`GET /api/v1/branches`). A branch token can only "
        "create tokens of its own branch.",
    )


class TokenOut(BaseModel):
    """A token without its value."""

    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None = Field(
        default=None, description="Updated at most once a minute."
    )
    revoked_at: datetime | None = None
    branch_id: str | None = Field(
        default=None, description="Null: an organization token; else its branch."
    )


class TokenCreated(TokenOut):
    """The 201 answer: the token value, shown only now."""

    token: str | None = Field(
        description="Send as `Authorization: Bearer <token>`; shown once (null in the "
        "replayed answer of a retry with the same Idempotency-Key: revoke that token "
        "and create another if the first answer was lost)."
    )


class TokenList(BaseModel):
    """The organization's active tokens."""

    items: list[TokenOut]


def _out(row: ApiToken) -> TokenOut:
    return TokenOut(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        branch_id=row.branch_id,
    )


@router.post("", status_code=201, response_model=TokenCreated)
def create(request: Request, body: TokenIn) -> TokenCreated:
    """Create a named token; its value is in this answer only."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        issued = create_token(
            session, rt.keyring, org_id, body.name, now=rt.clock(), branch_id=body.branch_id
        )
        return TokenCreated(**_out(issued.row).model_dump(), token=issued.token)


@router.get("", response_model=TokenList)
def list_all(request: Request) -> TokenList:
    """Active tokens with their last use (values are never shown again)."""
    with org_transaction(request) as (session, org_id):
        return TokenList(items=[_out(t) for t in list_tokens(session, org_id)])


@router.delete("/{token_id}", status_code=204, response_class=Response)
def revoke(request: Request, token_id: str) -> Response:
    """Revoke a token at once (409 for the organization's last active token)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        revoke_token(session, org_id, token_id, now=rt.clock())
    return Response(status_code=204)
