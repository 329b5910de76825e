"""Settings: API tokens (create, shown once; list; revoke), organization- or
branch-scoped, through :mod:`medsign.organizations.service` as ``/api/v1/tokens`` does.
A branch's admin sees and creates only their branch's tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from medsign.organizations.service import create_token, list_tokens, revoke_token
from medsign.staff.schemas import Actor
from medsign.web.deps import runtime
from medsign.web.pages.console.session import answer
from medsign.web.pages.console.settings_forms import (
    BASE,
    branch_choices,
    settings_form,
    settings_page,
    settings_read,
)

router = APIRouter(prefix=f"{BASE}/tokens", include_in_schema=False)
HERE = f"{BASE}/tokens"


def _page(
    request: Request,
    *,
    status_code: int = 200,
    error: str = "",
    created: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    def run() -> Response:
        with settings_read(request) as (session, actor):
            branches = branch_choices(session, actor)
            tokens = [
                {
                    "id": row.id,
                    "name": row.name,
                    "branch_id": row.branch_id,
                    "created_at": row.created_at,
                    "last_used_at": row.last_used_at,
                }
                for row in list_tokens(session, actor.organization_id)
            ]
        return settings_page(
            request,
            "console/settings_tokens.html",
            actor,
            status_code=status_code,
            tokens=tokens,
            branches=branches,
            branch_names=dict(branches),
            error=error,
            created=created,
            typed=typed or {},
        )

    return answer(request, run)


@router.get("")
def tokens(request: Request) -> Response:
    """Active tokens with their scope and last use, and the form to create one."""
    return _page(request)


@router.post("")
def create(
    request: Request,
    name: Annotated[str, Form(max_length=100)] = "",
    branch: Annotated[str, Form(max_length=64)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Create a token; its value is on the answer page only (stored as a keyed hash)."""
    rt = runtime(request)

    def work(session: Session, actor: Actor) -> dict[str, str]:
        issued = create_token(
            session,
            rt.keyring,
            actor.organization_id,
            name,
            now=rt.clock(),
            branch_id=branch or None,
            actor=actor.audit_name,
        )
        return {"id": issued.row.id, "name": issued.row.name, "token": issued.token}

    return settings_form(
        request,
        csrf,
        work,
        lambda created: _page(request, created=created),
        lambda status, message: _page(
            request, status_code=status, error=message, typed={"name": name, "branch": branch}
        ),
    )


@router.post("/{token_id}/revoke")
def revoke(
    request: Request, token_id: str, csrf: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    """Revoke a token at once (the organization's last one is refused: create another)."""
    rt = runtime(request)

    def work(session: Session, actor: Actor) -> None:
        revoke_token(
            session, actor.organization_id, token_id, now=rt.clock(), actor=actor.audit_name
        )

    return settings_form(
        request,
        csrf,
        work,
        lambda _none: RedirectResponse(HERE, status_code=303),
        lambda status, message: _page(request, status_code=status, error=message),
    )
