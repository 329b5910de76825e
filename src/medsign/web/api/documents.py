"""``/api/v1/documents``: upload a document, read it back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from medsign.branches.service import resolve_branch
from medsign.documents.service import (
    Upload,
    create_document,
    get_document,
    intake_limits,
    prepare_document,
)
from medsign.pdf.pages import PAGE_WIDTHS
from medsign.web.deps import org_transaction, runtime
from medsign.web.page_images import page_image_response

router = APIRouter(prefix="/api/v1/documents", tags=["documents"])


class DocumentOut(BaseModel):
    """A stored document (the 201 answer of an upload; shared/API.md)."""

    id: str
    sha256: str
    pages: int
    kind: str
    title: str


class SourceOut(BaseModel):
    """One uploaded file the document was made of (the file itself is not kept)."""

    filename: str
    media_type: str
    size: int
    sha256: str
    pages: int


class DocumentDetailOut(DocumentOut):
    """A stored document with the files it was made of, in order, and its branch."""

    branch_id: str | None = Field(default=None, description="Null: the whole organization's.")
    sources: list[SourceOut]


@router.post("", status_code=201, response_model=DocumentOut)
def upload_document(
    request: Request,
    files: Annotated[
        list[UploadFile],
        File(
            description="One or more files, glued in this order: PDF, DOCX/DOC/ODT/RTF, "
            "JPEG/PNG/TIFF/WebP/HEIC (docs/intake.md)."
        ),
    ],
    title: Annotated[str, Form(max_length=300)],
    kind: Annotated[str, Form()] = "other",
    password: Annotated[
        str | None, Form(description="Opens password-protected PDFs in the upload.")
    ] = None,
    branch_id: Annotated[
        str | None,
        Form(
            max_length=64,
            description="The branch the document belongs to (organization tokens; a "
            "branch token's documents are always its branch's).",
        ),
    ] = None,
) -> DocumentOut:
    """Upload files; they become one normalized PDF, the document that envelopes sign.

    A sync handler, so it runs in the threadpool: the token is checked first, then the
    files are normalized outside any database transaction (conversion can take
    seconds), then the document is stored in one short transaction.
    """
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        resolve_branch(session, org_id, branch_id)  # 401/404 before any expensive work
    limit = rt.settings.max_upload_bytes
    uploads = []
    budget = limit + 1
    for f in files:
        data = f.file.read(budget)
        budget = max(budget - len(data), 1)
        uploads.append(Upload(f.filename or "", f.content_type, data))
    prepared = prepare_document(
        title=title,
        kind=kind,
        uploads=uploads,
        limits=intake_limits(rt.settings),
        password=password,
    )
    with org_transaction(request) as (session, org_id):
        doc = create_document(
            session, rt.files, org_id, prepared=prepared, now=rt.clock(), branch_id=branch_id
        )
        return DocumentOut(
            id=doc.id, sha256=doc.sha256, pages=doc.pages, kind=doc.kind, title=doc.title
        )


@router.get("/{document_id}", response_model=DocumentDetailOut)
def read_document(request: Request, document_id: str) -> DocumentDetailOut:
    """A document's metadata and its source files."""
    with org_transaction(request) as (session, org_id):
        doc = get_document(session, org_id, document_id)
        return DocumentDetailOut(
            id=doc.id,
            sha256=doc.sha256,
            pages=doc.pages,
            kind=doc.kind,
            title=doc.title,
            branch_id=doc.branch_id,
            sources=[
                SourceOut(
                    filename=s.filename,
                    media_type=s.media_type,
                    size=s.size,
                    sha256=s.sha256,
                    pages=s.pages,
                )
                for s in doc.sources
            ],
        )


@router.get(
    "/{document_id}/pdf",
    response_class=Response,
    responses={
        200: {
            "description": "The normalized PDF.",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def document_pdf(request: Request, document_id: str) -> Response:
    """The normalized PDF."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        doc = get_document(session, org_id, document_id)
    return pdf_response(rt.files.get(doc.sha256), f"{doc.id}.pdf")


@router.get(
    "/{document_id}/pages/{name}",
    response_class=Response,
    responses={
        200: {
            "description": "The page drawn as an image (docs/viewer.md).",
            "content": {
                "image/webp": {"schema": {"type": "string", "format": "binary"}},
                "image/png": {"schema": {"type": "string", "format": "binary"}},
            },
        },
        304: {"description": "The client's copy (If-None-Match) is current."},
    },
)
def document_page(
    request: Request,
    document_id: str,
    name: Annotated[
        str, Path(description="``<n>.webp`` or ``<n>.png``: page n, from 1", examples=["1.webp"])
    ],
    w: Annotated[
        int | None, Query(description=f"width in pixels: one of {list(PAGE_WIDTHS)}")
    ] = None,
    v: Annotated[
        str | None,
        Query(description="the first 16 hex digits of the document's SHA-256 (immutable URL)"),
    ] = None,
) -> Response:
    """One page of the normalized PDF as an image, drawn once and cached (a preview).

    404 for a page the document lacks, another width or format, or a ``v`` that is not
    this document's.
    """
    del w, v  # declared for the OpenAPI document; page_image_response reads the query
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        doc = get_document(session, org_id, document_id)
    return page_image_response(request, rt, doc.sha256, name)


def pdf_response(data: bytes, filename: str, *, inline: bool = False) -> Response:
    """A PDF download."""
    disposition = "inline" if inline else "attachment"
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
    )
