"""Sending: one document to one patient, or one document to every patient of a CSV.

The files are read and normalized in the request's worker thread (a sync handler runs
in the threadpool, never on the event loop) before any transaction is opened; the
role and the CSRF token are checked before the upload is even read.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from medsign.console import bulk
from medsign.console.conversion import needs_job, start_conversion
from medsign.console.schemas import SendRequest
from medsign.console.service import (
    get_template,
    list_templates,
    patient_signer,
    policy_rows,
    send_prepared,
    template_copies,
)
from medsign.document_templates.service import list_templates as list_document_templates
from medsign.documents.service import (
    PreparedDocument,
    Upload,
    create_document,
    intake_limits,
    prepare_document,
)
from medsign.domain.policy import DocumentKind, Method
from medsign.errors import DomainError, InvalidInput
from medsign.i18n import t
from medsign.runtime import Runtime
from medsign.staff.schemas import Action
from medsign.usage.service import local_day
from medsign.web.deps import runtime
from medsign.web.pages.console.layout import page
from medsign.web.pages.console.session import (
    PATH,
    answer,
    checked_form,
    lang_of,
    staff_transaction,
)

router = APIRouter(prefix=PATH, include_in_schema=False)
METHODS = [Method.SMS_OTP.value, Method.EMAIL_OTP.value]
MAX_CSV_BYTES = 2 * 1024 * 1024


def _read(rt: Runtime, files: list[UploadFile]) -> list[Upload]:
    """The uploaded files, reading no more than the upload limit in all."""
    budget = rt.settings.max_upload_bytes + 1
    uploads = []
    for f in files:
        if not f.filename:
            continue  # an empty file input sends one nameless, empty part
        data = f.file.read(budget)
        budget = max(budget - len(data), 1)
        uploads.append(Upload(f.filename, f.content_type, data))
    return uploads


def _prepare(rt: Runtime, request: SendRequest) -> PreparedDocument:
    """Normalize the files; an empty title becomes the kind's name in the patients'
    language (the deployment's default, not the staff member's screen)."""
    title = request.title.strip() or t(f"kind_{request.kind}", rt.settings.default_lang)
    if request.kind not in [k.value for k in DocumentKind]:
        raise InvalidInput("Choose a document kind from the list.", field="kind")
    return prepare_document(
        title=title, kind=request.kind, uploads=request.uploads, limits=intake_limits(rt.settings)
    )


def _convert_later(
    request: Request, rt: Runtime, req: SendRequest, typed: dict[str, str]
) -> Response:
    """Large or office files: store them, queue the conversion, show its status page."""
    if req.kind not in [k.value for k in DocumentKind]:
        raise InvalidInput("Choose a document kind from the list.", field="kind")
    form = {
        **typed,
        "title": req.title.strip() or t(f"kind_{req.kind}", rt.settings.default_lang),
        "seal_first": "1" if req.seal_first else "",
    }
    with staff_transaction(request, action=Action.SEND) as (session, actor):
        if typed["template"]:
            get_template(session, actor, typed["template"])  # 404 now, not in the job
        conversion = start_conversion(
            session, rt.settings, actor, form, req.uploads, now=rt.clock()
        )
        conversion_id = conversion.id
    return RedirectResponse(f"{PATH}/conversions/{conversion_id}", status_code=303)


def _send_form(
    request: Request, *, status_code: int = 200, error: str = "", **typed: str
) -> Response:
    def run() -> Response:
        with staff_transaction(request, write=False, action=Action.SEND) as (session, actor):
            rows = policy_rows(session, actor.organization_id)
            saved = [(t.id, t.name) for t in list_templates(session, actor)]
            fillable = [
                (d.id, d.name) for d in list_document_templates(session, actor.organization_id)
            ]
        return page(
            request,
            "console/send.html",
            actor,
            status_code=status_code,
            policy=rows,
            templates=[{"id": i, "name": n} for i, n in saved],
            document_templates=[{"id": i, "name": n} for i, n in fillable],
            kinds=[k.value for k in DocumentKind],
            methods=METHODS,
            error=error,
            typed={"kind": DocumentKind.USER_AGREEMENT.value, **typed},
        )

    return answer(request, run)


@router.get("/send")
def send_page(request: Request) -> Response:
    """The send form: files (dropped or chosen), "Patient name", "Phone or email", kind,
    method, the clinic's seal first, "Send"; the policy table says what each kind allows."""
    return _send_form(request)


@router.post("/send")
def send(
    request: Request,
    files: Annotated[list[UploadFile], File()],
    patient_name: Annotated[str, Form(max_length=200)] = "",
    contact: Annotated[str, Form(max_length=254)] = "",
    kind: Annotated[str, Form(max_length=40)] = DocumentKind.USER_AGREEMENT.value,
    method: Annotated[str, Form(max_length=20)] = "",
    title: Annotated[str, Form(max_length=300)] = "",
    seal_first: Annotated[str, Form(max_length=5)] = "",
    template: Annotated[str, Form(max_length=64)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Normalize the files, then store the document and send the envelope (with a
    signer template: its seal-first choice and copy recipients too)."""
    rt = runtime(request)
    lang = lang_of(request)
    typed = {
        "patient_name": patient_name,
        "contact": contact,
        "kind": kind or DocumentKind.USER_AGREEMENT.value,
        "method": method,
        "title": title,
        "seal_first": seal_first,
        "template": template,
    }

    def run() -> Response:
        checked_form(request, csrf, Action.SEND)
        try:
            req = SendRequest(
                title=title,
                kind=typed["kind"],
                patient_name=patient_name,
                contact=contact,
                method=method,
                seal_first=bool(seal_first),
                uploads=_read(rt, files),
            )
            signer = patient_signer(req.patient_name, req.contact, req.method)
            if not req.uploads:
                raise InvalidInput(t("console_no_files", lang), field="files")
            if needs_job(req.uploads, rt.settings.console_convert_job_bytes):
                return _convert_later(request, rt, req, typed)
            prepared = _prepare(rt, req)
            now = rt.clock()
            with staff_transaction(request, action=Action.SEND) as (session, actor):
                chosen = get_template(session, actor, template) if template else None
                env = send_prepared(
                    session,
                    rt.keyring,
                    rt.files,
                    actor,
                    prepared,
                    signer,
                    seal_first=req.seal_first or bool(chosen and chosen.seal_first),
                    copies=template_copies(chosen) if chosen else (),
                    now=now,
                    today=local_day(now, rt.settings.time_zone),
                    default_ttl=timedelta(days=rt.settings.envelope_ttl_days),
                    default_lang=rt.settings.default_lang,
                )
                envelope_id = env.id
        except DomainError as exc:
            if exc.status in (401, 403):
                raise
            return _send_form(request, status_code=exc.status, error=exc.detail, **typed)
        return RedirectResponse(f"{PATH}/envelopes/{envelope_id}?done=sent", status_code=303)

    return answer(request, run)


@router.get("/bulk")
def bulk_page(request: Request) -> Response:
    """The bulk-send form: one document, a CSV of patients (name, phone or email)."""
    return _bulk_form(request)


def _bulk_form(request: Request, *, status_code: int = 200, error: str = "") -> Response:
    def run() -> Response:
        with staff_transaction(request, write=False, action=Action.SEND) as (_session, actor):
            pass
        return page(
            request,
            "console/bulk.html",
            actor,
            status_code=status_code,
            kinds=[k.value for k in DocumentKind],
            methods=METHODS,
            error=error,
        )

    return answer(request, run)


@router.post("/bulk")
def start_bulk(
    request: Request,
    files: Annotated[list[UploadFile], File()],
    patients: Annotated[UploadFile, File()],
    kind: Annotated[str, Form(max_length=40)] = DocumentKind.USER_AGREEMENT.value,
    method: Annotated[str, Form(max_length=20)] = "",
    title: Annotated[str, Form(max_length=300)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Store the document, record the rows and queue the jobs; then the progress page."""
    rt = runtime(request)
    lang = lang_of(request)

    def run() -> Response:
        checked_form(request, csrf, Action.SEND)
        try:
            raw = patients.file.read(MAX_CSV_BYTES + 1)
            if len(raw) > MAX_CSV_BYTES:
                raise InvalidInput("The CSV is over 2 MB; split it.", field="patients")
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise InvalidInput("Save the CSV as UTF-8.", field="patients") from None
            rows = bulk.parse_patients(text)
            if method and method not in METHODS:
                raise InvalidInput("Choose a method from the list.", field="method")
            uploads = _read(rt, files)
            if not uploads:
                raise InvalidInput(t("console_no_files", lang), field="files")
            prepared = _prepare(rt, SendRequest(title, kind, "", "", method, uploads=uploads))
            with staff_transaction(request, action=Action.SEND) as (session, actor):
                doc = create_document(
                    session,
                    rt.files,
                    actor.organization_id,
                    prepared=prepared,
                    now=rt.clock(),
                    branch_id=actor.branch_id,
                    actor=actor.audit_name,
                )
                started = bulk.start_bulk(
                    session, actor, doc.id, rows, method=method, now=rt.clock()
                )
                bulk_id = started.id
        except DomainError as exc:
            if exc.status in (401, 403):
                raise
            return _bulk_form(request, status_code=exc.status, error=exc.detail)
        return RedirectResponse(f"{PATH}/bulk/{bulk_id}", status_code=303)

    return answer(request, run)


@router.get("/bulk/{bulk_id}")
def bulk_progress(request: Request, bulk_id: str) -> Response:
    """Progress of a bulk send (refreshes itself until done) and each row's result."""

    def run() -> Response:
        with staff_transaction(request, write=False) as (session, actor):
            progress = bulk.progress(session, actor, bulk_id)
            rows = [
                {
                    "position": r.position,
                    "name": r.name,
                    "status": r.status,
                    "envelope_id": r.envelope_id,
                    "error": r.error or "",
                }
                for r in bulk.rows(session, bulk_id)
            ]
        return page(
            request,
            "console/bulk_progress.html",
            actor,
            progress=progress,
            rows=rows,
            refresh=not progress.finished,
        )

    return answer(request, run)
