"""Public pages: the home page and the verification page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from medsign.errors import DomainError
from medsign.web.api.verify import verify_bytes
from medsign.web.deps import runtime
from medsign.web.pages.render import page_lang, render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    """What this service is and where to go."""
    rt = runtime(request)
    return render(request, "home.html", page_lang(request), dev=rt.settings.dev_outbox)


@router.get("/verify", response_class=HTMLResponse)
def verify_page(request: Request) -> Response:
    """Upload a signed PDF to check it."""
    return render(request, "verify.html", page_lang(request), result=None, error=None)


@router.post("/verify", response_class=HTMLResponse)
def verify_upload(request: Request, file: Annotated[UploadFile, File()]) -> Response:
    """Show the verdict for an uploaded PDF."""
    lang = page_lang(request)
    limit = runtime(request).settings.max_upload_bytes
    try:
        result = verify_bytes(request, file.file.read(limit + 1))
    except DomainError as exc:
        return render(
            request, "verify.html", lang, status_code=exc.status, result=None, error=exc.detail
        )
    return render(request, "verify.html", lang, result=result, error=None)
