"""Signer templates: saved "who signs" choices the send page offers (the clinic's seal
first, copies to fixed addresses); the patient is always the one typed on the form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from medsign.console.service import delete_template, list_templates, save_template
from medsign.errors import DomainError
from medsign.staff.schemas import Action
from medsign.web.deps import runtime
from medsign.web.pages.console.layout import page
from medsign.web.pages.console.session import (
    PATH,
    answer,
    check_csrf,
    session_token,
    staff_transaction,
)

router = APIRouter(prefix=PATH, include_in_schema=False)


def _templates_page(request: Request, *, status_code: int = 200, error: str = "") -> Response:
    def run() -> Response:
        with staff_transaction(request, write=False, action=Action.SEND) as (session, actor):
            items = [
                {"id": t.id, "name": t.name, "seal_first": t.seal_first, "copies": t.copies}
                for t in list_templates(session, actor)
            ]
        return page(
            request,
            "console/templates.html",
            actor,
            status_code=status_code,
            templates=items,
            error=error,
        )

    return answer(request, run)


@router.get("/templates")
def templates(request: Request) -> Response:
    """The saved signer templates and the form to add one."""
    return _templates_page(request)


@router.post("/templates")
def create(
    request: Request,
    name: Annotated[str, Form(max_length=100)] = "",
    seal_first: Annotated[str, Form(max_length=5)] = "",
    copy_name: Annotated[str, Form(max_length=200)] = "",
    copy_contact: Annotated[str, Form(max_length=254)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Save a template."""
    rt = runtime(request)

    def run() -> Response:
        check_csrf(rt, session_token(request), csrf)
        try:
            with staff_transaction(request, action=Action.SEND) as (session, actor):
                save_template(
                    session,
                    actor,
                    name,
                    seal_first=bool(seal_first),
                    copies=[(copy_name, copy_contact)],
                    now=rt.clock(),
                )
        except DomainError as exc:
            if exc.status in (401, 403):
                raise
            return _templates_page(request, status_code=exc.status, error=exc.detail)
        return RedirectResponse(f"{PATH}/templates", status_code=303)

    return answer(request, run)


@router.post("/templates/{template_id}/delete")
def delete(
    request: Request, template_id: str, csrf: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    """Delete a template."""
    rt = runtime(request)

    def run() -> Response:
        check_csrf(rt, session_token(request), csrf)
        with staff_transaction(request, action=Action.SEND) as (session, actor):
            delete_template(session, actor, template_id, now=rt.clock())
        return RedirectResponse(f"{PATH}/templates", status_code=303)

    return answer(request, run)
