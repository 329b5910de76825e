"""Document templates over the API (docs/templates.md): ``/api/v1/document-templates``
to upload and list them, and ``POST /api/v1/documents/from-template`` to fill one into a
document (the same answer as ``POST /api/v1/documents``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from pydantic import BaseModel

from medsign.branches.service import resolve_branch
from medsign.document_templates.models import DocumentTemplate
from medsign.document_templates.schemas import FromTemplateIn, TemplateFieldOut, TemplateOut
from medsign.document_templates.service import (
    checked_values,
    create_template,
    list_templates,
    parse_declared,
    render,
    template_source,
)
from medsign.documents.service import Upload, create_document, intake_limits, prepare_document
from medsign.errors import LimitExceeded
from medsign.web.api.documents import DocumentOut
from medsign.web.deps import org_transaction, runtime

router = APIRouter(tags=["document templates"])


class TemplateList(BaseModel):
    """The organization's templates, by name."""

    items: list[TemplateOut]


def _out(t: DocumentTemplate) -> TemplateOut:
    return TemplateOut(
        id=t.id,
        name=t.name,
        kind=t.kind,
        title=t.title,
        fields=[TemplateFieldOut.model_validate(f) for f in t.fields],
    )


@router.post("/api/v1/document-templates", status_code=201, response_model=TemplateOut)
def upload_template(
    request: Request,
    file: Annotated[UploadFile, File(description="A PDF with AcroForm text fields.")],
    name: Annotated[str, Form(max_length=200)],
    kind: Annotated[str, Form(max_length=40)] = "other",
    title: Annotated[str, Form(max_length=300)] = "",
    fields: Annotated[
        str,
        Form(
            max_length=20000,
            description='JSON: field name -> "text" | "date" | "number", or '
            '{"type", "required"}. Undeclared fields are required text.',
        ),
    ] = "",
) -> TemplateOut:
    """Upload a template; its text fields are found in the PDF and typed as declared."""
    rt = runtime(request)
    with org_transaction(request):
        pass  # 401 before reading the body
    data = file.file.read(rt.settings.max_upload_bytes + 1)
    if len(data) > rt.settings.max_upload_bytes:
        raise LimitExceeded(f"The template is larger than {rt.settings.max_upload_bytes} bytes.")
    declared = parse_declared(fields)
    with org_transaction(request) as (session, org_id):
        template = create_template(
            session,
            rt.files,
            org_id,
            name=name,
            kind=kind,
            title=title,
            data=data,
            declared=declared,
            now=rt.clock(),
        )
        return _out(template)


@router.get("/api/v1/document-templates", response_model=TemplateList)
def templates(request: Request) -> TemplateList:
    """The organization's templates."""
    with org_transaction(request) as (session, org_id):
        return TemplateList(items=[_out(t) for t in list_templates(session, org_id)])


@router.post("/api/v1/documents/from-template", status_code=201, response_model=DocumentOut)
def from_template(request: Request, body: FromTemplateIn) -> DocumentOut:
    """Fill a template: every missing, unknown or ill-typed field is named in one 422;
    the filled PDF (form removed) becomes a document through the usual intake."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        resolve_branch(session, org_id, body.branch_id)
        source = template_source(session, org_id, body.template_id)
    values = checked_values(source, body.fields)
    pdf = render(rt.files, source, values)  # outside any transaction: CPU work
    prepared = prepare_document(
        title=body.title or source.title,
        kind=source.kind,
        uploads=[Upload("template.pdf", "application/pdf", pdf)],
        limits=intake_limits(rt.settings),
    )
    with org_transaction(request) as (session, org_id):
        doc = create_document(
            session, rt.files, org_id, prepared=prepared, now=rt.clock(), branch_id=body.branch_id
        )
        return DocumentOut(
            id=doc.id, sha256=doc.sha256, pages=doc.pages, kind=doc.kind, title=doc.title
        )
