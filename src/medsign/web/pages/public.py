"""Public pages: the home page and the verification page (upload, or requisites)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from medsign.errors import (
    DomainError,
    InvalidDocument,
    InvalidInput,
    LimitExceeded,
    TooManyRequests,
    VerificationLimit,
)
from medsign.i18n import TEXTS, t
from medsign.pdf.isolated import ClientGone
from medsign.web.api.verify import RequisitesOut, VerifyOut, requisites, verify_bytes
from medsign.web.deps import runtime
from medsign.web.pages.render import page_lang, render
from medsign.web.ratelimit import verify_limit

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    """What this service is and where to go."""
    rt = runtime(request)
    return render(request, "home.html", page_lang(request), dev=rt.settings.dev_outbox)


def _error_text(error: DomainError, lang: str) -> str:
    """The page's sentence for ``error`` in ``lang`` (the problem detail if none fits)."""
    field = error.extra.get("field")
    if isinstance(error, InvalidInput) and field == "code":
        key = "verify_error_code"
    elif isinstance(error, InvalidInput) and field == "document_id":
        key = "verify_error_document"
    elif isinstance(error, InvalidDocument) or (
        isinstance(error, InvalidInput) and field == "file"
    ):
        key = "verify_error_file"
    elif isinstance(error, VerificationLimit):
        return error.detail  # names the limit (signatures, time, memory)
    elif isinstance(error, LimitExceeded):
        key = "verify_error_too_large"
    elif isinstance(error, TooManyRequests):
        key = "verify_error_too_many"
    else:
        return error.detail
    return t(key, lang)


def _verify_page(
    request: Request,
    lang: str,
    *,
    result: VerifyOut | None = None,
    found: RequisitesOut | None = None,
    error: DomainError | None = None,
    document: str | None = None,
    code: str | None = None,
) -> Response:
    def method_name(method: str | None) -> str:
        if not method:
            return ""
        return t(f"method_{method}", lang) if f"method_{method}" in TEXTS else method

    context: dict[str, Any] = {
        "result": result,
        "requisites": found,
        "error": _error_text(error, lang) if error is not None else None,
        "document": document,
        "code": code,
        "method_name": method_name,
    }
    response = render(
        request,
        "verify.html",
        lang,
        status_code=error.status if error is not None else 200,
        **context,
    )
    retry_after = getattr(error, "retry_after", None)
    if isinstance(retry_after, int):  # every 429 and 503 says when to come back (RFC 9110)
        response.headers["Retry-After"] = str(retry_after)
    return response


@router.get("/verify", response_class=HTMLResponse)
def verify_page(
    request: Request,
    document: str | None = None,
    code: str | None = None,
    document_id: str | None = None,
) -> Response:
    """Upload a signed PDF, or check the requisites (``?document=...&code=...``, the QR link)."""
    lang = page_lang(request)
    doc = (document or document_id or "").strip()[:64]
    typed = (code or "").strip()[:32]
    if not doc and not typed:
        return _verify_page(request, lang)
    try:
        verify_limit(request)
        found = requisites(request, doc, typed)
    except DomainError as exc:
        return _verify_page(request, lang, error=exc, document=doc, code=typed)
    return _verify_page(request, lang, found=found, document=doc, code=typed)


@router.post("/verify", response_class=HTMLResponse)
async def verify_upload(request: Request, file: Annotated[UploadFile, File()]) -> Response:
    """Show the verdict for an uploaded PDF."""
    lang = page_lang(request)
    limit = runtime(request).settings.max_upload_bytes
    try:
        verify_limit(request)
        result = await verify_bytes(request, await file.read(limit + 1))
    except ClientGone:
        return Response(status_code=499)  # the client left: nobody reads the page
    except DomainError as exc:
        return _verify_page(request, lang, error=exc)
    return _verify_page(request, lang, result=result)
