"""Taking in documents: validate, store, record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.branches.scope import current_branch
from medsign.branches.service import resolve_branch
from medsign.documents.models import Document, DocumentSource
from medsign.domain.policy import DocumentKind, parse_enum
from medsign.errors import InvalidInput, NotFound
from medsign.pdf.intake import IntakeLimits, NormalizedPdf, SourceFile, normalize
from medsign.settings import Settings
from medsign.storage.ports import BlobStore


@dataclass(frozen=True)
class Upload:
    """One uploaded file as received."""

    filename: str
    content_type: str | None
    data: bytes


def intake_limits(settings: Settings) -> IntakeLimits:
    """The intake limits configured in ``settings``."""
    return IntakeLimits(
        max_bytes=settings.max_upload_bytes,
        max_files=settings.max_upload_files,
        max_pages=settings.max_pages,
        max_image_pixels=settings.max_image_pixels,
        conversion_seconds=settings.max_conversion_seconds,
        soffice=settings.soffice_path,
        max_pdf_nesting=settings.max_pdf_nesting,
        max_pdf_stream_bytes=settings.max_pdf_stream_bytes,
    )


@dataclass(frozen=True)
class PreparedDocument:
    """A checked title and kind plus the normalized PDF, ready to be stored."""

    title: str
    kind: str
    pdf: NormalizedPdf


def prepare_document(
    *,
    title: str,
    kind: str,
    uploads: list[Upload],
    limits: IntakeLimits,
    password: str | None = None,
) -> PreparedDocument:
    """Check the fields and normalize the uploaded files into one PDF (limits first).

    Needs no database: the API runs it outside any transaction, in a worker thread,
    because conversion can take seconds (qpdf, LibreOffice).
    """
    doc_kind = parse_enum(DocumentKind, kind, "kind")
    title = title.strip()
    if not title or len(title) > 300:
        raise InvalidInput("The title must be 1 to 300 characters.", field="title")
    if not uploads:
        raise InvalidInput("Attach the document as the multipart field `files`.", field="files")
    result = normalize(
        [SourceFile(u.filename, u.content_type, u.data) for u in uploads],
        limits,
        password=password or None,
    )
    return PreparedDocument(title=title, kind=doc_kind.value, pdf=result)


def create_document(
    session: Session,
    files: BlobStore,
    organization_id: str,
    *,
    prepared: PreparedDocument,
    now: datetime,
    branch_id: str | None = None,
    actor: str = "api",
) -> Document:
    """Store the normalized PDF and record the document with its source files.

    A refused upload never gets here (see :func:`prepare_document`): nothing is
    stored for it. The document belongs to the branch of a branch token, else to
    ``branch_id`` when given (checked to be the organization's), else to the whole
    organization (:func:`medsign.branches.service.resolve_branch`).
    """
    result = prepared.pdf
    title, kind = prepared.title, prepared.kind
    # Stored before this function's first SQL statement, so the slow part (the bytes
    # travelling to object storage) runs before the transaction writes or locks
    # anything here; if storage fails, nothing is recorded.
    sha256 = files.put(result.data)
    branch = resolve_branch(session, organization_id, branch_id)
    doc = Document(
        organization_id=organization_id,
        branch_id=branch,
        title=title,
        kind=kind,
        sha256=sha256,
        pages=result.pages,
        size=len(result.data),
        source_name=result.sources[0].filename[:255],
        created_at=now,
        sources=[
            DocumentSource(
                position=i,
                filename=src.filename,
                media_type=src.media_type,
                size=src.size,
                sha256=src.sha256,
                pages=src.pages,
            )
            for i, src in enumerate(result.sources)
        ],
    )
    session.add(doc)
    session.flush()
    record(
        session,
        organization_id,
        "document.created",
        at=now,
        actor=actor,
        data={
            "document_id": doc.id,
            "sha256": sha256,
            "pages": result.pages,
            "kind": kind,
            "branch_id": branch,
            "sources": [s.sha256 for s in result.sources],
        },
    )
    return doc


def get_document(session: Session, organization_id: str, document_id: str) -> Document:
    """The organization's document, or NotFound (also for another organization's id,
    and, for a branch token, for any document outside its branch)."""
    query = select(Document).where(
        Document.id == document_id, Document.organization_id == organization_id
    )
    if (branch := current_branch()) is not None:
        query = query.where(Document.branch_id == branch)
    doc = session.scalars(query).first()
    if doc is None:
        raise NotFound(f"No document with id {document_id} in this organization.")
    return doc
