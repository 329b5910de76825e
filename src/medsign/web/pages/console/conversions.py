"""The status page of a send whose files a job converts (queued, converting, ready,
failed with the reason); it refreshes itself until the job is done, so it works
without JavaScript, like the bulk send's progress page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from medsign.console.conversion import conversion_of
from medsign.staff.schemas import Action, Actor
from medsign.web.pages.console.layout import page
from medsign.web.pages.console.session import PATH, answer, staff_transaction

router = APIRouter(prefix=PATH, include_in_schema=False)


def _state(request: Request, conversion_id: str) -> tuple[dict[str, str | None], Actor]:
    with staff_transaction(request, write=False, action=Action.SEND) as (session, actor):
        row = conversion_of(session, actor, conversion_id)
        state = {"status": row.status, "reason": row.reason, "envelope_id": row.envelope_id}
        return state, actor


@router.get("/conversions/{conversion_id}")
def conversion_page(request: Request, conversion_id: str) -> Response:
    """Where the conversion is; a link to the envelope once sent."""

    def run() -> Response:
        state, actor = _state(request, conversion_id)
        return page(
            request,
            "console/conversion.html",
            actor,
            state=state,
            refresh=state["status"] in ("queued", "converting"),
        )

    return answer(request, run)


@router.get("/conversions/{conversion_id}/status")
def conversion_status(request: Request, conversion_id: str) -> Response:
    """The same as JSON, for scripts: ``{"status", "reason", "envelope_id"}``."""

    def run() -> Response:
        state, _actor = _state(request, conversion_id)
        return JSONResponse(state, headers={"Cache-Control": "no-store"})

    return answer(request, run)
