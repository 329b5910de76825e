"""Staff management (admins): the list, invitations, deactivation; and the settings
area's overview (its other pages: :mod:`medsign.web.pages.console.settings`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from medsign.branches.models import Branch
from medsign.domain.policy import policy_matrix
from medsign.organizations.models import Organization
from medsign.staff import service
from medsign.staff.schemas import Action, StaffRole
from medsign.web.deps import runtime
from medsign.web.pages.console.layout import page
from medsign.web.pages.console.session import (
    PATH,
    answer,
    check_csrf,
    session_token,
    staff_transaction,
)
from medsign.web.pages.console.settings_forms import settings_page as settings_view

router = APIRouter(prefix=PATH, include_in_schema=False)


def _branches(session: Session, organization_id: str) -> list[tuple[str, str]]:
    rows = session.execute(
        select(Branch.id, Branch.name)
        .where(Branch.organization_id == organization_id)
        .order_by(Branch.name)
        .limit(200)
    ).all()
    return [(str(i), str(n)) for i, n in rows]


def _staff_page(
    request: Request, *, invite_url: str = "", status_code: int = 200, error: str = ""
) -> Response:
    def run() -> Response:
        with staff_transaction(request, write=False, action=Action.MANAGE_STAFF) as (
            session,
            actor,
        ):
            members = [
                {
                    "id": m.id,
                    "email": m.email,
                    "name": m.name,
                    "role": m.role,
                    "branch_id": m.branch_id,
                    "active": m.deactivated_at is None,
                    "invited": m.password_hash is None and m.invite_hash is not None,
                    "totp": m.totp_enabled,
                }
                for m in service.list_staff(session, actor)
            ]
            branches = _branches(session, actor.organization_id)
        return page(
            request,
            "console/staff.html",
            actor,
            status_code=status_code,
            members=members,
            branches=branches if actor.branch_id is None else [],
            branch_names=dict(branches),
            roles=[r.value for r in StaffRole],
            invite_url=invite_url,
            error=error,
        )

    return answer(request, run)


@router.get("/staff")
def staff_list(request: Request) -> Response:
    """The organization's staff and the invitation form."""
    return _staff_page(request)


@router.post("/staff/invite")
def invite(
    request: Request,
    email: Annotated[str, Form(max_length=254)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    branch: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Invite a person: their account waits for them to set a password at the link."""
    rt = runtime(request)

    def run() -> Response:
        check_csrf(rt, session_token(request), csrf)
        with staff_transaction(request, action=Action.MANAGE_STAFF) as (session, actor):
            _member, token = service.invite_staff(
                session,
                rt.keyring,
                actor,
                email,
                role,
                branch_id=branch or actor.branch_id,
                name=name,
                now=rt.clock(),
            )
        url = f"{rt.settings.public_url.rstrip('/')}{PATH}/invite/{token}"
        return _staff_page(request, invite_url=url)

    return answer(request, run)


@router.post("/staff/{staff_id}/deactivate")
def deactivate(
    request: Request, staff_id: str, csrf: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    """Deactivate an account; its sessions end now."""
    rt = runtime(request)

    def run() -> Response:
        check_csrf(rt, session_token(request), csrf)
        with staff_transaction(request, action=Action.MANAGE_STAFF) as (session, actor):
            service.deactivate_staff(session, actor, staff_id, now=rt.clock())
        return _staff_page(request)

    return answer(request, run)


@router.get("/settings")
def settings_page(request: Request) -> Response:
    """The settings area: the organization, its branches and its signature policy."""

    def run() -> Response:
        with staff_transaction(request, write=False, action=Action.SETTINGS) as (
            session,
            actor,
        ):
            org = session.get(Organization, actor.organization_id)
            assert org is not None
            name, overrides = org.name, org.policy_overrides
            branches = _branches(session, actor.organization_id)
        return settings_view(
            request,
            "console/settings.html",
            actor,
            org_name=name,
            branches=branches,
            matrix=policy_matrix(overrides or None),
        )

    return answer(request, run)
