"""``/api/v1/patients``: upsert by MIS id, EDO agreement status, paper agreements."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from medsign.documents.service import (
    Upload,
    create_document,
    intake_limits,
    prepare_document,
)
from medsign.errors import NotFound
from medsign.patients.models import Patient
from medsign.patients.schemas import EdoAgreementOut, PatientIn, PatientOut
from medsign.patients.service import (
    active_agreement,
    agreement_status,
    create_agreement,
    get_patient,
    revoke_agreement,
    upsert_patient,
)
from medsign.web.deps import org_transaction, runtime

router = APIRouter(prefix="/api/v1/patients", tags=["patients"])


def _out(patient: Patient, created: bool = False) -> PatientOut:
    return PatientOut(
        id=patient.id,
        mis_id=patient.mis_id,
        name=patient.name,
        birth_date=patient.birth_date,
        phone=patient.phone,
        email=patient.email,
        preferred_channel=patient.preferred_channel,
        created=created,
    )


@router.post(
    "",
    response_model=PatientOut,
    responses={201: {"model": PatientOut, "description": "Created (200: updated)."}},
)
def upsert(request: Request, body: PatientIn) -> JSONResponse:
    """Create or update a patient by MIS id (201 when created, 200 when updated)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        patient, created = upsert_patient(session, org_id, body, now=rt.clock())
        out = _out(patient, created)
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)


@router.get("/{mis_id}", response_model=PatientOut)
def read(request: Request, mis_id: str) -> PatientOut:
    """A patient by MIS id."""
    with org_transaction(request) as (session, org_id):
        return _out(get_patient(session, org_id, mis_id))


@router.get("/{mis_id}/edo-agreement", response_model=EdoAgreementOut)
def edo_status(request: Request, mis_id: str) -> EdoAgreementOut:
    """Whether the patient has a valid EDO agreement (so OTP methods may sign contracts)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        return agreement_status(session, org_id, mis_id, rt.clock())


@router.post("/{mis_id}/edo-agreement", status_code=201, response_model=EdoAgreementOut)
def edo_paper(
    request: Request,
    mis_id: str,
    file: Annotated[UploadFile, File(description="Scan of the signed paper original (PDF).")],
    attested_by: Annotated[str, Form(min_length=1, max_length=200)],
    valid_until: Annotated[datetime | None, Form()] = None,
) -> EdoAgreementOut:
    """Record a paper EDO agreement: staff upload the scan and attest the original."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        get_patient(session, org_id, mis_id)  # 401/404 before any expensive work
    if valid_until is not None and valid_until.tzinfo is None:
        valid_until = valid_until.replace(tzinfo=UTC)
    data = file.file.read(rt.settings.max_upload_bytes + 1)
    prepared = prepare_document(
        title=f"EDO agreement (paper) {mis_id}",
        kind="edo_agreement",
        uploads=[Upload(file.filename or "scan.pdf", file.content_type, data)],
        limits=intake_limits(rt.settings),
    )
    with org_transaction(request) as (session, org_id):
        now = rt.clock()
        patient = get_patient(session, org_id, mis_id)
        doc = create_document(session, rt.files, org_id, prepared=prepared, now=now)
        create_agreement(
            session,
            org_id,
            patient,
            source="paper",
            now=now,
            valid_until=valid_until,
            document_id=doc.id,
            attested_by=attested_by.strip(),
        )
        return agreement_status(session, org_id, mis_id, now)


class RevokeIn(BaseModel):
    """Staff revoke an agreement at the patient's request."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=1000)


@router.post("/{mis_id}/edo-agreement/revoke", response_model=EdoAgreementOut)
def edo_revoke(request: Request, mis_id: str, body: RevokeIn) -> EdoAgreementOut:
    """Revoke the patient's valid agreement."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        now = rt.clock()
        patient = get_patient(session, org_id, mis_id)
        agreement = active_agreement(session, org_id, patient.id, now)
        if agreement is None:
            raise NotFound("This patient has no valid EDO agreement to revoke.")
        revoke_agreement(session, agreement, by="staff", reason=body.reason, now=now)
        return agreement_status(session, org_id, mis_id, now)
