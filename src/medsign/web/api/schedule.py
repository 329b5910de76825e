"""``/api/v1/schedule``: the doctors, services and free slots patients may book in the
cabinet (docs/cabinet.md "Appointments")."""

from __future__ import annotations

from fastapi import APIRouter, Request

from medsign.errors import NotFound
from medsign.schedule.models import TelemedicineSettings
from medsign.schedule.schemas import ScheduleIn, ScheduleOut, TelemedicineIn, TelemedicineOut
from medsign.schedule.service import publish_schedule, schedule_out
from medsign.schedule.telemedicine import set_telemedicine, telemedicine_out
from medsign.web.deps import org_transaction, runtime

router = APIRouter(prefix="/api/v1/schedule", tags=["schedule"])


@router.put(
    "",
    response_model=ScheduleOut,
    responses={
        403: {"description": "A branch token: only an organization token publishes."},
        404: {"description": "A slot names a branch of another organization."},
        422: {
            "description": "A slot without a UTC offset, or naming an unknown doctor "
            "or service; a MIS id given twice."
        },
    },
)
def publish(request: Request, body: ScheduleIn) -> ScheduleOut:
    """Replace the published doctors, services and slots (free slots left out are
    withdrawn; booked ones stay with their appointment)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        publish_schedule(session, org_id, body, now=rt.clock())
        return schedule_out(session, org_id)


@router.get("", response_model=ScheduleOut)
def read(request: Request) -> ScheduleOut:
    """What is published now, with the appointment that took each booked slot."""
    with org_transaction(request) as (session, org_id):
        return schedule_out(session, org_id)


@router.put(
    "/telemedicine",
    response_model=TelemedicineOut,
    responses={
        403: {"description": "A branch token: only an organization token sets this."},
        404: {"description": "No such document in this organization."},
        422: {
            "description": "The document is not a telemedicine_consent, or the provider is unknown."
        },
    },
)
def write_telemedicine(request: Request, body: TelemedicineIn) -> TelemedicineOut:
    """What booking an online visit in the cabinet requires: the consent document (kind
    telemedicine_consent) and the identity provider the patient signs it with."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        return set_telemedicine(session, org_id, body, now=rt.clock())


@router.get(
    "/telemedicine",
    response_model=TelemedicineOut,
    responses={404: {"description": "Online visits are not set up."}},
)
def read_telemedicine(request: Request) -> TelemedicineOut:
    """The telemedicine settings."""
    with org_transaction(request) as (session, org_id):
        row = session.get(TelemedicineSettings, org_id)
        if row is None:
            raise NotFound("Online visits are not set up (PUT /api/v1/schedule/telemedicine).")
        return telemedicine_out(row)
