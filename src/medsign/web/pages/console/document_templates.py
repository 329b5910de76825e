"""The console's Document templates (docs/templates.md): admins upload a PDF with form
fields and declare their types; staff who send fill one in and send it to a patient
(the same path as the send page: intake, policy, envelope)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from medsign.console.service import patient_signer, send_prepared
from medsign.document_templates.models import DocumentTemplate
from medsign.document_templates.service import (
    checked_values,
    create_template,
    list_templates,
    parse_declared,
    render,
    template_source,
)
from medsign.documents.service import Upload, intake_limits, prepare_document
from medsign.domain.policy import DocumentKind
from medsign.errors import DomainError, InvalidInput, LimitExceeded
from medsign.staff.schemas import Action
from medsign.usage.service import local_day
from medsign.web.deps import runtime
from medsign.web.pages.console.layout import page
from medsign.web.pages.console.send import METHODS
from medsign.web.pages.console.session import (
    PATH,
    answer,
    check_csrf,
    checked_form,
    session_token,
    staff_transaction,
)

router = APIRouter(prefix=PATH, include_in_schema=False)
BASE = f"{PATH}/document-templates"


def declared_from_lines(text: str) -> str:
    """``visit_date: date`` / ``price: number?`` lines (``?``: optional) as the JSON the
    API takes; a line without a colon is refused."""
    out: dict[str, object] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, kind = line.partition(":")
        if not sep:
            raise InvalidInput(f"Write each field as name: type (text, date, number): {line!r}")
        kind = kind.strip()
        optional = kind.endswith("?")
        out[name.strip()] = {"type": kind.rstrip("?").strip() or "text", "required": not optional}
    return json.dumps(out)


def _items(rows: list[DocumentTemplate]) -> list[dict[str, object]]:
    return [{"id": r.id, "name": r.name, "kind": r.kind, "fields": r.fields} for r in rows]


def _list_page(request: Request, *, status_code: int = 200, error: str = "") -> Response:
    def run() -> Response:
        with staff_transaction(request, write=False, action=Action.SEND) as (session, actor):
            items = _items(list_templates(session, actor.organization_id))
        return page(
            request,
            "console/document_templates.html",
            actor,
            status_code=status_code,
            items=items,
            kinds=[k.value for k in DocumentKind],
            error=error,
        )

    return answer(request, run)


@router.get("/document-templates")
def templates_page(request: Request) -> Response:
    """The organization's document templates and (admins) the upload form."""
    return _list_page(request)


@router.post("/document-templates")
def upload(
    request: Request,
    file: Annotated[UploadFile, File()],
    name: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=40)] = "other",
    field_types: Annotated[str, Form(max_length=10000)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Upload a template (admins)."""
    rt = runtime(request)

    def run() -> Response:
        check_csrf(rt, session_token(request), csrf)
        try:
            with staff_transaction(request, write=False, action=Action.SETTINGS):
                pass
            data = file.file.read(rt.settings.max_upload_bytes + 1)
            if len(data) > rt.settings.max_upload_bytes:
                raise LimitExceeded("The template is larger than the upload limit.")
            declared = parse_declared(declared_from_lines(field_types))
            with staff_transaction(request, action=Action.SETTINGS) as (session, actor):
                create_template(
                    session,
                    rt.files,
                    actor.organization_id,
                    name=name,
                    kind=kind,
                    title=name,
                    data=data,
                    declared=declared,
                    now=rt.clock(),
                    actor=actor.audit_name,
                )
        except DomainError as exc:
            if exc.status in (401, 403):
                raise
            return _list_page(request, status_code=exc.status, error=_said(exc))
        return RedirectResponse(BASE, status_code=303)

    return answer(request, run)


def _said(exc: DomainError) -> str:
    """The error's sentence plus each named field's reason."""
    errors = exc.extra.get("errors") or []
    return exc.detail + "".join(f" {e['field']}: {e['message']}." for e in errors)


def _fill_page(
    request: Request,
    template_id: str,
    *,
    status_code: int = 200,
    error: str = "",
    typed: dict[str, str] | None = None,
) -> Response:
    def run() -> Response:
        with staff_transaction(request, write=False, action=Action.SEND) as (session, actor):
            source = template_source(session, actor.organization_id, template_id)
            row = session.get(DocumentTemplate, template_id)
            assert row is not None
            name = row.name
        return page(
            request,
            "console/document_template_fill.html",
            actor,
            status_code=status_code,
            tpl={"id": source.id, "name": name, "kind": source.kind},
            fields=[{"name": n, "type": k.value, "required": r} for n, k, r in source.fields],
            methods=METHODS,
            typed=typed or {},
            error=error,
        )

    return answer(request, run)


@router.get("/document-templates/{template_id}")
def fill_page(request: Request, template_id: str) -> Response:
    """The template's fields, the patient and "Send"."""
    return _fill_page(request, template_id)


@router.post("/document-templates/{template_id}")
async def fill_and_send(request: Request, template_id: str) -> Response:
    """Check the values, fill the template, send it to the patient."""
    form = await request.form()
    typed = {k: v for k, v in form.items() if isinstance(v, str) and len(v) <= 1000}
    # Filling and intake are CPU work: off the event loop (DESIGN.md "hot path").
    return await run_in_threadpool(_fill_sync, request, template_id, typed)


def _fill_sync(request: Request, template_id: str, typed: dict[str, str]) -> Response:
    rt = runtime(request)

    def run() -> Response:
        checked_form(request, typed.get("csrf", ""), Action.SEND)
        try:
            with staff_transaction(request, write=False, action=Action.SEND) as (session, actor):
                source = template_source(session, actor.organization_id, template_id)
            values = {
                name: typed.get(f"field_{name}", "") for name, _kind, _required in source.fields
            }
            checked = checked_values(source, values)
            signer = patient_signer(
                typed.get("patient_name", ""), typed.get("contact", ""), typed.get("method", "")
            )
            filled = render(rt.files, source, checked)
            prepared = prepare_document(
                title=source.title,
                kind=source.kind,
                uploads=[Upload("template.pdf", "application/pdf", filled)],
                limits=intake_limits(rt.settings),
            )
            now = rt.clock()
            with staff_transaction(request, action=Action.SEND) as (session, actor):
                env = send_prepared(
                    session,
                    rt.keyring,
                    rt.files,
                    actor,
                    prepared,
                    signer,
                    seal_first=False,
                    now=now,
                    today=local_day(now, rt.settings.time_zone),
                    default_ttl=timedelta(days=rt.settings.envelope_ttl_days),
                    default_lang=rt.settings.default_lang,
                )
                envelope_id = env.id
        except DomainError as exc:
            if exc.status in (401, 403):
                raise
            return _fill_page(
                request, template_id, status_code=exc.status, error=_said(exc), typed=typed
            )
        return RedirectResponse(f"{PATH}/envelopes/{envelope_id}?done=sent", status_code=303)

    return answer(request, run)
