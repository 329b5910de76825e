"""``/dev/outbox``: messages that would have been sent (only without real channels)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select

from medsign.notify.models import DevMessage
from medsign.web.deps import runtime
from medsign.web.pages.render import page_lang, render

router = APIRouter(include_in_schema=False)


@router.get("/dev/outbox", response_class=HTMLResponse)
def outbox(request: Request) -> Response:
    """The latest messages (HTML; JSON with ``Accept: application/json``)."""
    rt = runtime(request)
    host = request.client.host if request.client else ""
    # Codes are shown in clear here: only in dev mode, and only to this machine.
    local = host in ("127.0.0.1", "::1", "localhost", "testclient")
    if not rt.settings.dev_outbox or not local:
        return JSONResponse(
            {"detail": "The dev outbox is off: real channels are configured."}, status_code=404
        )
    with rt.transaction() as session:
        rows = session.scalars(select(DevMessage).order_by(DevMessage.id.desc()).limit(100)).all()
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(
            [
                {
                    "id": m.id,
                    "channel": m.channel,
                    "to": m.to,
                    "subject": m.subject,
                    "body": m.body,
                    "created_at": m.created_at.isoformat(),
                }
                for m in rows
            ]
        )
    return render(request, "outbox.html", page_lang(request), messages=rows)
