"""``/api/v1/schedule``: the doctors, services and free slots patients may book in the
cabinet (docs/cabinet.md "Appointments")."""

from __future__ import annotations

from fastapi import APIRouter, Request

from medsign.schedule.schemas import ScheduleIn, ScheduleOut
from medsign.schedule.service import publish_schedule, schedule_out
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
