"""Settings: branches (add, rename) and the signature policy's overrides (tighten per
document kind), through :mod:`medsign.branches.service` and
:func:`medsign.organizations.service.set_policy_overrides`, as the API does. The policy
page explains the legal defaults (shared/DESIGN.md "Signature levels and policy")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from medsign.branches.service import create_branch, rename_branch
from medsign.domain.policy import DocumentKind, policy_matrix
from medsign.organizations.service import get_organization, set_policy_overrides
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

router = APIRouter(prefix=BASE, include_in_schema=False)
BRANCHES = f"{BASE}/branches"
POLICY = f"{BASE}/policy"
# Which legal note explains each kind's defaults (the texts cite the law).
LAW_NOTE = {
    DocumentKind.USER_AGREEMENT: "policy_law_user_agreement",
    DocumentKind.EDO_AGREEMENT: "policy_law_edo_agreement",
    DocumentKind.INFORMED_CONSENT: "policy_law_ids",
    DocumentKind.TELEMEDICINE_CONSENT: "policy_law_ids",
    DocumentKind.PRESCRIPTION: "policy_law_prescription",
    DocumentKind.MEDICAL_RECORD: "policy_law_medical_record",
}
CONTRACT_NOTE = "policy_law_contract"


def _branches_page(
    request: Request, *, status_code: int = 200, error: str = "", typed: str = ""
) -> Response:
    def run() -> Response:
        with settings_read(request) as (session, actor):
            branches = branch_choices(session, actor)
        return settings_page(
            request,
            "console/settings_branches.html",
            actor,
            status_code=status_code,
            branches=branches,
            error=error,
            typed=typed,
        )

    return answer(request, run)


@router.get("/branches")
def branches(request: Request) -> Response:
    """The branches, each with a rename form, and the form to add one."""
    return _branches_page(request)


@router.post("/branches")
def add_branch(
    request: Request,
    name: Annotated[str, Form(max_length=300)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Add a branch (names are unique in the organization)."""
    rt = runtime(request)

    def work(session: Session, actor: Actor) -> None:
        create_branch(session, actor.organization_id, name, now=rt.clock(), actor=actor.audit_name)

    return settings_form(
        request,
        csrf,
        work,
        lambda _none: RedirectResponse(BRANCHES, status_code=303),
        lambda status, message: _branches_page(
            request, status_code=status, error=message, typed=name
        ),
        org_only=True,
    )


@router.post("/branches/{branch_id}/rename")
def rename(
    request: Request,
    branch_id: str,
    name: Annotated[str, Form(max_length=300)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Rename a branch."""
    rt = runtime(request)

    def work(session: Session, actor: Actor) -> None:
        rename_branch(
            session,
            actor.organization_id,
            branch_id,
            name,
            now=rt.clock(),
            actor=actor.audit_name,
        )

    return settings_form(
        request,
        csrf,
        work,
        lambda _none: RedirectResponse(BRANCHES, status_code=303),
        lambda status, message: _branches_page(request, status_code=status, error=message),
        org_only=True,
    )


def _policy_page(request: Request, *, status_code: int = 200, error: str = "") -> Response:
    def run() -> Response:
        with settings_read(request) as (session, actor):
            overrides = dict(
                get_organization(session, actor.organization_id).policy_overrides or {}
            )
        defaults = policy_matrix(None)
        effective = policy_matrix(overrides or None)
        rows = [
            {
                "kind": kind.value,
                "law": LAW_NOTE.get(kind, CONTRACT_NOTE),
                "choices": defaults[kind.value]["with_edo"],
                "allowed": set(overrides.get(kind.value, defaults[kind.value]["with_edo"])),
                "tightened": kind.value in overrides,
                "without_edo": effective[kind.value]["without_edo"],
                "with_edo": effective[kind.value]["with_edo"],
            }
            for kind in DocumentKind
        ]
        return settings_page(
            request,
            "console/settings_policy.html",
            actor,
            status_code=status_code,
            rows=rows,
            error=error,
        )

    return answer(request, run)


@router.get("/policy")
def policy(request: Request) -> Response:
    """The legal defaults per document kind, the organization's tightening, and the
    methods in force with and without an EDO agreement."""
    return _policy_page(request)


@router.post("/policy")
async def save_policy(request: Request) -> Response:
    """Replace the overrides from the form: for each kind, the methods left ticked (a
    kind with every default ticked has no override)."""
    async with request.form(max_files=0, max_fields=200) as form:
        ticked = {
            kind.value: sorted({str(v)[:40] for v in form.getlist(f"m_{kind.value}")})
            for kind in DocumentKind
        }
        csrf = str(form.get("csrf", ""))[:64]
    return await run_in_threadpool(_save_policy, request, csrf, ticked)


def _save_policy(request: Request, csrf: str, ticked: dict[str, list[str]]) -> Response:
    rt = runtime(request)
    defaults = policy_matrix(None)
    overrides = {
        kind: methods
        for kind, methods in ticked.items()
        if set(methods) != set(defaults[kind]["with_edo"])
    }

    def work(session: Session, actor: Actor) -> None:
        set_policy_overrides(
            session, actor.organization_id, overrides, now=rt.clock(), actor=actor.audit_name
        )

    return settings_form(
        request,
        csrf,
        work,
        lambda _none: RedirectResponse(POLICY, status_code=303),
        lambda status, message: _policy_page(request, status_code=status, error=message),
        org_only=True,
    )
