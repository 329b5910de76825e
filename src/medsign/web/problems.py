"""One place that turns errors into RFC 9457 problem responses."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from medsign.errors import DomainError, StorageUnavailable, StoredFileLost, TooManyRequests
from medsign.storage.ports import BlobCorrupted, BlobMissing, StorageError

log = logging.getLogger("medsign.web")
PROBLEM_JSON = "application/problem+json"
# Seconds a client is asked to wait when document storage is away (Retry-After).
STORAGE_RETRY_AFTER = 10


def problem(status: int, slug: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    """An ``application/problem+json`` response (RFC 9457 §3)."""
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_problem(exc: DomainError) -> JSONResponse:
    """The problem response of a domain error."""
    extra = dict(exc.extra)
    if isinstance(exc, TooManyRequests):
        extra["retry_after"] = exc.retry_after
    return problem(exc.status, exc.slug, exc.title, exc.detail, **extra)


def storage_error(exc: StorageError) -> DomainError:
    """The domain error a request meets when storage fails (never a bare 500)."""
    if isinstance(exc, BlobMissing | BlobCorrupted):
        what = "missing" if isinstance(exc, BlobMissing) else "damaged"
        return StoredFileLost(
            f"The stored file {exc.sha256} is {what}; the operator must restore it "
            "from a backup. Nothing was changed.",
            sha256=exc.sha256,
        )
    return StorageUnavailable(
        "Document storage does not answer right now; nothing was changed. "
        f"Try again in {STORAGE_RETRY_AFTER} seconds.",
        retry_after=STORAGE_RETRY_AFTER,
    )


def _validation_detail(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    errors = []
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
        msg = str(err.get("msg", "invalid"))
        errors.append({"field": loc, "message": msg})
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts) or "The request is not valid.", errors


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        return domain_problem(exc)

    @app.exception_handler(StorageError)
    async def _storage(_request: Request, exc: StorageError) -> JSONResponse:
        log.error("storage failed: %s", exc)  # digests and endpoints only, no content
        return domain_problem(storage_error(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        detail, errors = _validation_detail(exc)
        return problem(422, "invalid-request", "Invalid request", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 413: "Upload over a limit"}
        slug = {404: "not-found", 405: "method-not-allowed", 413: "limit-exceeded"}
        return problem(
            exc.status_code,
            slug.get(exc.status_code, "http-error"),
            titles.get(exc.status_code, "Request failed"),
            str(exc.detail),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
        return problem(
            500,
            "internal-error",
            "Internal error",
            "Something failed on our side; nothing was changed. Try again later.",
        )
