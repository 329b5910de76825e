"""``/api/v1/documents``: upload a document, read it back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from medsign.documents.service import Upload, create_document, get_document
from medsign.web.deps import org_transaction, runtime

router = APIRouter(prefix="/api/v1/documents", tags=["documents"])


class DocumentOut(BaseModel):
    """A stored document."""

    id: str
    sha256: str
    pages: int
    kind: str
    title: str


@router.post("", status_code=201, response_model=DocumentOut)
def upload_document(
    request: Request,
    files: Annotated[list[UploadFile], File(description="The document (a PDF).")],
    title: Annotated[str, Form(max_length=300)],
    kind: Annotated[str, Form()] = "other",
) -> DocumentOut:
    """Upload a PDF; it becomes the document that envelopes sign."""
    rt = runtime(request)
    limit = rt.settings.max_upload_bytes
    uploads = [Upload(f.filename or "", f.content_type, f.file.read(limit + 1)) for f in files]
    with org_transaction(request) as (session, org_id):
        doc = create_document(
            session,
            rt.files,
            org_id,
            title=title,
            kind=kind,
            uploads=uploads,
            max_bytes=limit,
            max_pages=rt.settings.max_pages,
            now=rt.clock(),
        )
        return DocumentOut(
            id=doc.id, sha256=doc.sha256, pages=doc.pages, kind=doc.kind, title=doc.title
        )


@router.get("/{document_id}", response_model=DocumentOut)
def read_document(request: Request, document_id: str) -> DocumentOut:
    """A document's metadata."""
    with org_transaction(request) as (session, org_id):
        doc = get_document(session, org_id, document_id)
        return DocumentOut(
            id=doc.id, sha256=doc.sha256, pages=doc.pages, kind=doc.kind, title=doc.title
        )


@router.get("/{document_id}/pdf", response_class=Response)
def document_pdf(request: Request, document_id: str) -> Response:
    """The normalized PDF."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        doc = get_document(session, org_id, document_id)
    return pdf_response(rt.files.get(doc.sha256), f"{doc.id}.pdf")


def pdf_response(data: bytes, filename: str, *, inline: bool = False) -> Response:
    """A PDF download."""
    disposition = "inline" if inline else "attachment"
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
    )
