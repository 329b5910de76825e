"""What every settings page shares: the section list, admin-only access, and the form
skeleton (CSRF and role first; a refusal re-renders the form with its message inside
the same page, nothing written; success after the commit).

Admins only (``Action.SETTINGS``): other roles get 403. A branch's admin sees their
branch's tokens, webhooks and usage; organization-wide settings (branches, policy,
identity providers, the seal) are shown to them read-only and refused (403) on change
by the services' organization-scope checks (:mod:`medsign.branches.service`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from medsign.branches.models import Branch
from medsign.errors import DomainError, Forbidden, InvalidInput
from medsign.staff.schemas import Action, Actor
from medsign.web.deps import runtime
from medsign.web.pages.console.layout import page
from medsign.web.pages.console.session import answer, check_csrf, session_token, staff_transaction

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
BASE = "/console/settings"


@dataclass(frozen=True)
class Section:
    """One settings page in the settings area's own navigation."""

    href: str
    label_key: str


SECTIONS: tuple[Section, ...] = (
    Section(BASE, "settings_overview"),
    Section(f"{BASE}/identity-providers", "settings_idp"),
    Section(f"{BASE}/webhooks", "settings_webhooks"),
    Section(f"{BASE}/tokens", "settings_tokens"),
    Section(f"{BASE}/branches", "settings_branches"),
    Section(f"{BASE}/policy", "settings_policy"),
    Section(f"{BASE}/notifications", "settings_notifications"),
    Section(f"{BASE}/seal", "settings_seal"),
    Section(f"{BASE}/usage", "settings_usage"),
)


@contextmanager
def settings_read(request: Request) -> Iterator[tuple[Session, Actor]]:
    """A read transaction of an admin (403 for other roles), branch-scoped."""
    with staff_transaction(request, write=False, action=Action.SETTINGS) as pair:
        yield pair


def settings_page(
    request: Request, template: str, actor: Actor, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render a settings page with the section navigation."""
    return page(
        request,
        template,
        actor,
        status_code=status_code,
        sections=SECTIONS,
        org_wide=actor.branch_id is None,
        **context,
    )


def branch_choices(session: Session, actor: Actor) -> list[tuple[str, str]]:
    """(id, name) of the branches ``actor`` may see: all, or only their own."""
    query = select(Branch.id, Branch.name).where(Branch.organization_id == actor.organization_id)
    if actor.branch_id is not None:
        query = query.where(Branch.id == actor.branch_id)
    return [(str(i), str(n)) for i, n in session.execute(query.order_by(Branch.name).limit(1000))]


def parsed(model: type[M], data: dict[str, Any]) -> M:
    """``data`` as ``model``, or InvalidInput naming the first field that is wrong."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "form"
        raise InvalidInput(f"{where}: {first['msg']}.", field=where) from None


def settings_form(
    request: Request,
    csrf: str,
    work: Callable[[Session, Actor], T],
    done: Callable[[T], Response],
    again: Callable[[int, str], Response],
    *,
    before: Callable[[], object] | None = None,
    org_only: bool = False,
) -> Response:
    """Run a settings form: the CSRF token and the admin role first (403, nothing
    done), then ``before`` (work outside the transaction, e.g. a provider's discovery
    document), then ``work`` in one transaction as ``actor``. A refusal other than
    401/403 comes back as ``again(status, message)``: the form with its message.
    ``org_only``: a branch's admin is refused (403) before anything is done."""
    rt = runtime(request)

    def run() -> Response:
        check_csrf(rt, session_token(request), csrf)
        with staff_transaction(request, write=False, action=Action.SETTINGS) as (_s, who):
            if org_only and who.branch_id is not None:
                raise Forbidden("Only an organization-wide admin may change this setting.")
        try:
            if before is not None:
                before()
            with staff_transaction(request, action=Action.SETTINGS) as (session, actor):
                result = work(session, actor)
        except DomainError as exc:
            if exc.status in (401, 403):
                raise
            return again(exc.status, exc.detail)
        return done(result)

    return answer(request, run)
