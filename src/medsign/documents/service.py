"""Taking in documents: validate, store, record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.documents.models import Document
from medsign.domain.policy import DocumentKind, parse_enum
from medsign.errors import InvalidDocument, InvalidInput, LimitExceeded, NotFound
from medsign.pdf.intake import inspect_pdf
from medsign.storage.files import FileStore


@dataclass(frozen=True)
class Upload:
    """One uploaded file as received."""

    filename: str
    content_type: str | None
    data: bytes


def create_document(
    session: Session,
    files: FileStore,
    organization_id: str,
    *,
    title: str,
    kind: str,
    uploads: list[Upload],
    max_bytes: int,
    max_pages: int,
    now: datetime,
) -> Document:
    """Validate the upload (limits before parsing), store the PDF, record the document."""
    doc_kind = parse_enum(DocumentKind, kind, "kind")
    title = title.strip()
    if not title or len(title) > 300:
        raise InvalidInput("The title must be 1 to 300 characters.", field="title")
    if not uploads:
        raise InvalidInput("Attach the document as the multipart field `files`.", field="files")
    if len(uploads) > 1:
        raise InvalidInput(
            "This release takes one PDF per document; merge several files into one PDF first.",
            field="files",
        )
    upload = uploads[0]
    if len(upload.data) > max_bytes:
        raise LimitExceeded(
            f"The upload is larger than the limit of {max_bytes} bytes.", limit="max_upload_bytes"
        )
    if not upload.data:
        raise InvalidDocument("The file is empty.")
    if not upload.data.lstrip()[:5].startswith(b"%PDF-") and b"%PDF-" not in upload.data[:1024]:
        raise InvalidDocument(
            "The file is not a PDF. Send the document as a PDF file.",
            content_type=upload.content_type,
        )
    info = inspect_pdf(upload.data, max_pages=max_pages)
    sha256 = files.put(upload.data)
    doc = Document(
        organization_id=organization_id,
        title=title,
        kind=doc_kind.value,
        sha256=sha256,
        pages=info.pages,
        size=len(upload.data),
        source_name=upload.filename[:255] if upload.filename else None,
        created_at=now,
    )
    session.add(doc)
    session.flush()
    record(
        session,
        organization_id,
        "document.created",
        at=now,
        actor="api",
        data={"document_id": doc.id, "sha256": sha256, "pages": info.pages, "kind": kind},
    )
    return doc


def get_document(session: Session, organization_id: str, document_id: str) -> Document:
    """The organization's document, or NotFound (also for another organization's id)."""
    doc = session.scalars(
        select(Document).where(
            Document.id == document_id, Document.organization_id == organization_id
        )
    ).first()
    if doc is None:
        raise NotFound(f"No document with id {document_id} in this organization.")
    return doc
