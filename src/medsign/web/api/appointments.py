"""``/api/v1/appointments``: the MIS pushes appointments and their changes."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from medsign.appointments.schemas import (
    AppointmentIn,
    AppointmentList,
    AppointmentOut,
    AppointmentPatch,
)
from medsign.appointments.service import (
    appointment_out,
    create_appointment,
    get_appointment,
    list_for_patient,
    mark_results_ready,
    update_appointment,
)
from medsign.web.deps import org_transaction, runtime

router = APIRouter(prefix="/api/v1/appointments", tags=["appointments"])


@router.post("", status_code=201, response_model=AppointmentOut)
def create(request: Request, body: AppointmentIn) -> AppointmentOut:
    """Record an appointment of a known patient (422 for an unknown patient, 409 when
    the MIS id exists)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        appointment = create_appointment(session, org_id, body, now=rt.clock())
        return appointment_out(session, appointment)


@router.get(
    "",
    response_model=AppointmentList,
    responses={404: {"description": "No patient with that MIS id in this organization."}},
)
def list_appointments(
    request: Request,
    patient_mis_id: str = Query(min_length=1, max_length=100, description="The patient."),
) -> AppointmentList:
    """A patient's appointments, earliest first."""
    with org_transaction(request) as (session, org_id):
        rows = list_for_patient(session, org_id, patient_mis_id)
        return AppointmentList(items=[appointment_out(session, a) for a in rows])


@router.get("/{mis_id}", response_model=AppointmentOut)
def read(request: Request, mis_id: str) -> AppointmentOut:
    """One appointment by MIS id."""
    with org_transaction(request) as (session, org_id):
        return appointment_out(session, get_appointment(session, org_id, mis_id))


@router.patch("/{mis_id}", response_model=AppointmentOut)
def change(request: Request, mis_id: str, body: AppointmentPatch) -> AppointmentOut:
    """Reschedule, change the status, cancel with a reason or restore (409 when the
    appointment has begun or is cancelled and not being restored)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        appointment = update_appointment(session, org_id, mis_id, body, now=rt.clock())
        return appointment_out(session, appointment)


@router.post("/{mis_id}/results-ready", response_model=AppointmentOut)
def results_ready(request: Request, mis_id: str) -> AppointmentOut:
    """The appointment's results are ready: the ``results.ready`` rules fire."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        appointment = mark_results_ready(session, org_id, mis_id, now=rt.clock())
        return appointment_out(session, appointment)
