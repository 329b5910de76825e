"""``/dev/outbox``: messages that would have been sent (only without real channels, only
when enabled, only to this machine)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select

from medsign.notify.models import DevMessage
from medsign.web.deps import runtime
from medsign.web.pages.render import page_lang, render

router = APIRouter(include_in_schema=False)

# Headers a reverse proxy adds (RFC 7239 and the de-facto ones): behind a proxy on the
# same host every client's TCP peer is 127.0.0.1, so such a request is never local.
FORWARDED_HEADERS = (
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "x-client-ip",
    "true-client-ip",
    "cf-connecting-ip",
    "x-cluster-client-ip",
    "via",
)


def is_local(request: Request) -> bool:
    """The request came straight from this machine, not through a proxy."""
    host = request.client.host if request.client else ""
    if host not in ("127.0.0.1", "::1", "localhost", "testclient"):
        return False
    return not any(name in request.headers for name in FORWARDED_HEADERS)


@router.get("/dev/outbox", response_class=HTMLResponse)
def outbox(request: Request) -> Response:
    """The latest messages (HTML; JSON with ``Accept: application/json``)."""
    rt = runtime(request)
    # Codes are shown in clear here: only when enabled (MEDSIGN_DEV_OUTBOX, `serve
    # --demo`) without real channels, and only to this machine, never through a proxy.
    if not rt.settings.dev_outbox or not is_local(request):
        return JSONResponse(
            {
                "detail": "The dev outbox is off (it needs MEDSIGN_DEV_OUTBOX=true, no real "
                "channel, and a request from this machine that did not come through a proxy)."
            },
            status_code=404,
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
