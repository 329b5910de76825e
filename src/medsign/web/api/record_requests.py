"""``/api/v1/record-requests``: patients' requests for copies of their records, with the
legal deadline; the clinic uploads the records, which are sealed and issued to the
cabinet (docs/cabinet.md "Record requests")."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile

from medsign.branches.service import require_organization_scope
from medsign.documents.service import Upload, intake_limits, prepare_document
from medsign.domain.policy import DocumentKind
from medsign.records.schemas import (
    RecordRequestList,
    RecordRequestOut,
    RecordSettingsIn,
    RecordSettingsOut,
)
from medsign.records.service import (
    deadline_days,
    get_request,
    issue_records,
    list_requests,
    request_out,
    set_deadline,
)
from medsign.web.deps import org_transaction, runtime

router = APIRouter(prefix="/api/v1/record-requests", tags=["record requests"])


@router.get("/settings", response_model=RecordSettingsOut)
def read_settings(request: Request) -> RecordSettingsOut:
    """The organization's deadline (30 days unless shortened)."""
    with org_transaction(request) as (session, org_id):
        return RecordSettingsOut(deadline_days=deadline_days(session, org_id))


@router.put("/settings", response_model=RecordSettingsOut)
def write_settings(request: Request, body: RecordSettingsIn) -> RecordSettingsOut:
    """Shorten the deadline (1..30 days; the law allows at most 30)."""
    with org_transaction(request) as (session, org_id):
        require_organization_scope("change the record request deadline")
        return RecordSettingsOut(deadline_days=set_deadline(session, org_id, body.deadline_days))


@router.get("", response_model=RecordRequestList)
def list_all(
    request: Request,
    status: Annotated[Literal["open", "issued"] | None, Query()] = None,
    overdue: Annotated[bool | None, Query(description="Only (or no) overdue requests.")] = None,
) -> RecordRequestList:
    """The organization's requests, nearest deadline first."""
    rt = runtime(request)
    now = rt.clock()
    with org_transaction(request) as (session, org_id):
        rows = list_requests(session, org_id, status=status, overdue=overdue, now=now)
        return RecordRequestList(items=[request_out(session, r, now) for r in rows])


@router.get("/{request_id}", response_model=RecordRequestOut)
def read(request: Request, request_id: str) -> RecordRequestOut:
    """One request."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        return request_out(session, get_request(session, org_id, request_id), rt.clock())


@router.post(
    "/{request_id}/records",
    response_model=RecordRequestOut,
    responses={
        409: {"description": "Already issued."},
        413: {"description": "Over the upload limits."},
        415: {"description": "Not a document medsign accepts."},
    },
)
def issue(
    request: Request,
    request_id: str,
    files: Annotated[list[UploadFile], File(description="The records (PDF, DOCX, images).")],
    staff_name: Annotated[str, Form(min_length=1, max_length=200)],
    title: Annotated[str, Form(max_length=300)] = "Medical records",
) -> RecordRequestOut:
    """Upload the records: sealed with the organization's seal and issued to the
    patient's cabinet; the MIS gets ``record_request.issued``."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        get_request(session, org_id, request_id)  # 404 before any expensive work
    budget = rt.settings.max_upload_bytes + 1
    uploads = []
    for f in files:
        data = f.file.read(budget)
        budget = max(budget - len(data), 1)
        uploads.append(Upload(f.filename or "", f.content_type, data))
    prepared = prepare_document(
        title=title,
        kind=DocumentKind.MEDICAL_RECORD.value,
        uploads=uploads,
        limits=intake_limits(rt.settings),
    )
    with org_transaction(request) as (session, org_id):
        issued = issue_records(
            session,
            rt.files,
            rt.keyring,
            org_id,
            request_id,
            prepared,
            staff_name=staff_name,
            ttl=timedelta(days=rt.settings.envelope_ttl_days),
            now=rt.clock(),
        )
        return request_out(session, issued, rt.clock())
