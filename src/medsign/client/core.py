"""Sync and async HTTP clients for the medsign API (on httpx)."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, NotRequired, Self, TypedDict, cast

import httpx

RETRY_STATUSES = frozenset({429, 502, 503, 504})
FileSpec = str | Path | tuple[str, bytes, str]


class Signer(TypedDict):
    """A signer as the API returns it."""

    id: str
    role: str
    name: str
    method: str
    order: int
    status: str
    signing_url: NotRequired[str | None]
    signed_at: NotRequired[str | None]


class Envelope(TypedDict):
    """An envelope as the API returns it."""

    id: str
    status: str
    document_id: str
    created_at: str
    expires_at: str
    signers: list[Signer]
    completed_at: NotRequired[str | None]
    void_reason: NotRequired[str | None]
    updated_at: NotRequired[str]
    kind: NotRequired[str]


class Document(TypedDict):
    """A document as the API returns it."""

    id: str
    sha256: str
    pages: int
    kind: str
    title: str


class Webhook(TypedDict):
    """A webhook subscription (``secret`` only in the answer that created it)."""

    id: str
    url: str
    events: list[str]
    status: str
    secret: NotRequired[str]


class Page(TypedDict):
    """A page of a list endpoint."""

    items: list[dict[str, Any]]
    next_cursor: str | None


class ApiError(Exception):
    """A 4xx/5xx answer; ``problem`` holds the RFC 9457 problem details."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        self.type = str(problem.get("type", "about:blank"))
        self.detail = str(problem.get("detail", problem.get("title", f"HTTP {status}")))
        super().__init__(f"{status} {self.type}: {self.detail}")


def _files(
    paths: Sequence[FileSpec], field: str = "files"
) -> list[tuple[str, tuple[str, bytes, str]]]:
    out = []
    for spec in paths:
        if isinstance(spec, tuple):
            out.append((field, spec))
            continue
        path = Path(spec)
        kind = "application/pdf" if path.suffix.lower() == ".pdf" else "application/octet-stream"
        out.append((field, (path.name, path.read_bytes(), kind)))
    return out


def _external_path(envelope_id: str, signer_id: str) -> str:
    return f"/api/v1/envelopes/{envelope_id}/signers/{signer_id}/external"


def _query(**params: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = value.isoformat() if isinstance(value, datetime) else str(value)
    return out


def _delay(attempt: int, response: httpx.Response | None) -> float:
    if response is not None and response.headers.get("retry-after", "").isdigit():
        return min(float(response.headers["retry-after"]), 60.0)
    base: float = min(0.5 * 2.0**attempt, 10.0)
    return base * (0.5 + random.random())  # noqa: S311 - jitter


def _result(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        try:
            problem = response.json()
        except ValueError:
            problem = {"title": response.reason_phrase}
        raise ApiError(response.status_code, problem if isinstance(problem, dict) else {})
    if response.status_code == 204 or not response.content:
        return None
    if response.headers.get("content-type", "").startswith("application/pdf"):
        return response.content
    return response.json()


class _Base:
    def __init__(self, base_url: str, token: str, *, retries: int = 3) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}", "User-Agent": "medsign-python/1"}
        self.retries = retries

    def _prepare(self, method: str, idempotency_key: str | None) -> dict[str, str]:
        headers = dict(self.headers)
        if method == "POST":
            headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        return headers


class MedsignClient(_Base):
    """The synchronous client; use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 60.0,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, token, retries=retries)
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """One API call with retries (same Idempotency-Key on every try of a POST)."""
        headers = self._prepare(method, idempotency_key)
        for attempt in range(self.retries + 1):
            response: httpx.Response | None = None
            try:
                response = self._http.request(
                    method,
                    path,
                    json=json,
                    files=files,
                    data=data,
                    params=params,
                    headers=headers,
                )
            except httpx.TransportError:
                if attempt == self.retries:
                    raise
            else:
                if response.status_code not in RETRY_STATUSES or attempt == self.retries:
                    return _result(response)
            time.sleep(_delay(attempt, response))
        raise AssertionError("unreachable")

    # --- documents and envelopes ---------------------------------------------------

    def upload_document(
        self, files: Sequence[FileSpec], *, title: str, kind: str = "other"
    ) -> Document:
        """``POST /api/v1/documents`` (paths, or (name, bytes, content type) tuples)."""
        return cast(
            Document,
            self.request(
                "POST",
                "/api/v1/documents",
                files=_files(files),
                data={"title": title, "kind": kind},
            ),
        )

    def create_envelope(
        self,
        document_id: str,
        signers: Sequence[Mapping[str, Any]],
        *,
        expires_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> Envelope:
        """``POST /api/v1/envelopes``."""
        body: dict[str, Any] = {"document_id": document_id, "signers": list(signers)}
        if expires_at is not None:
            body["expires_at"] = expires_at.isoformat()
        return cast(
            Envelope,
            self.request("POST", "/api/v1/envelopes", json=body, idempotency_key=idempotency_key),
        )

    def get_envelope(self, envelope_id: str) -> Envelope:
        """``GET /api/v1/envelopes/{id}``."""
        return cast(Envelope, self.request("GET", f"/api/v1/envelopes/{envelope_id}"))

    def sign_external(self, envelope_id: str, signer_id: str, signed: FileSpec) -> Envelope:
        """Upload a qualified signature made elsewhere for a method ``external`` signer:
        the current PDF signed, or a detached ``.sig`` over it."""
        path = _external_path(envelope_id, signer_id)
        return cast(Envelope, self.request("POST", path, files=_files([signed], "file")))

    def envelope_pdf(self, envelope_id: str) -> bytes:
        """The PDF with every signature applied so far."""
        return cast(bytes, self.request("GET", f"/api/v1/envelopes/{envelope_id}/pdf"))

    def void_envelope(self, envelope_id: str, reason: str) -> Envelope:
        """``POST /api/v1/envelopes/{id}/void``."""
        return cast(
            Envelope,
            self.request("POST", f"/api/v1/envelopes/{envelope_id}/void", json={"reason": reason}),
        )

    def list_envelopes(self, *, cursor: str | None = None, limit: int = 50, **filters: Any) -> Page:
        """One page of ``GET /api/v1/envelopes`` (filters: status, patient_mis_id, kind,
        updated_since)."""
        params = _query(cursor=cursor, limit=limit, **filters)
        return cast(Page, self.request("GET", "/api/v1/envelopes", params=params))

    def iter_envelopes(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every envelope matching ``filters``, following cursors."""
        cursor: str | None = None
        while True:
            page = self.list_envelopes(cursor=cursor, **filters)
            yield from page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return

    def list_documents(self, *, cursor: str | None = None, limit: int = 50, **filters: Any) -> Page:
        """One page of ``GET /api/v1/documents``."""
        params = _query(cursor=cursor, limit=limit, **filters)
        return cast(Page, self.request("GET", "/api/v1/documents", params=params))

    # --- webhooks and tokens ----------------------------------------------------------

    def create_webhook(self, url: str, events: Sequence[str] = ("*",)) -> Webhook:
        """``POST /api/v1/webhooks``; the answer holds the secret (shown once)."""
        return cast(
            Webhook,
            self.request("POST", "/api/v1/webhooks", json={"url": url, "events": list(events)}),
        )

    def list_webhooks(self) -> list[Webhook]:
        """``GET /api/v1/webhooks``."""
        return cast(list[Webhook], self.request("GET", "/api/v1/webhooks")["items"])

    def delete_webhook(self, webhook_id: str) -> None:
        """``DELETE /api/v1/webhooks/{id}``."""
        self.request("DELETE", f"/api/v1/webhooks/{webhook_id}")

    def create_token(self, name: str) -> dict[str, Any]:
        """``POST /api/v1/tokens``: ``{"id", "name", "token", ...}``."""
        return cast(dict[str, Any], self.request("POST", "/api/v1/tokens", json={"name": name}))

    def revoke_token(self, token_id: str) -> None:
        """``DELETE /api/v1/tokens/{id}``."""
        self.request("DELETE", f"/api/v1/tokens/{token_id}")


class AsyncMedsignClient(_Base):
    """The asyncio client (same methods, awaited)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 60.0,
        retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, token, retries=retries)
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, transport=transport)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """One API call with retries (same Idempotency-Key on every try of a POST)."""
        headers = self._prepare(method, idempotency_key)
        for attempt in range(self.retries + 1):
            response: httpx.Response | None = None
            try:
                response = await self._http.request(
                    method,
                    path,
                    json=json,
                    files=files,
                    data=data,
                    params=params,
                    headers=headers,
                )
            except httpx.TransportError:
                if attempt == self.retries:
                    raise
            else:
                if response.status_code not in RETRY_STATUSES or attempt == self.retries:
                    return _result(response)
            await asyncio.sleep(_delay(attempt, response))
        raise AssertionError("unreachable")

    async def upload_document(
        self, files: Sequence[FileSpec], *, title: str, kind: str = "other"
    ) -> Document:
        """``POST /api/v1/documents``."""
        return cast(
            Document,
            await self.request(
                "POST",
                "/api/v1/documents",
                files=_files(files),
                data={"title": title, "kind": kind},
            ),
        )

    async def create_envelope(
        self,
        document_id: str,
        signers: Sequence[Mapping[str, Any]],
        *,
        expires_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> Envelope:
        """``POST /api/v1/envelopes``."""
        body: dict[str, Any] = {"document_id": document_id, "signers": list(signers)}
        if expires_at is not None:
            body["expires_at"] = expires_at.isoformat()
        return cast(
            Envelope,
            await self.request(
                "POST", "/api/v1/envelopes", json=body, idempotency_key=idempotency_key
            ),
        )

    async def get_envelope(self, envelope_id: str) -> Envelope:
        """``GET /api/v1/envelopes/{id}``."""
        return cast(Envelope, await self.request("GET", f"/api/v1/envelopes/{envelope_id}"))

    async def sign_external(self, envelope_id: str, signer_id: str, signed: FileSpec) -> Envelope:
        """Upload a qualified signature made elsewhere for a method ``external`` signer."""
        path = _external_path(envelope_id, signer_id)
        return cast(Envelope, await self.request("POST", path, files=_files([signed], "file")))

    async def envelope_pdf(self, envelope_id: str) -> bytes:
        """The PDF with every signature applied so far."""
        return cast(bytes, await self.request("GET", f"/api/v1/envelopes/{envelope_id}/pdf"))

    async def void_envelope(self, envelope_id: str, reason: str) -> Envelope:
        """``POST /api/v1/envelopes/{id}/void``."""
        return cast(
            Envelope,
            await self.request(
                "POST", f"/api/v1/envelopes/{envelope_id}/void", json={"reason": reason}
            ),
        )

    async def list_envelopes(
        self, *, cursor: str | None = None, limit: int = 50, **filters: Any
    ) -> Page:
        """One page of ``GET /api/v1/envelopes``."""
        params = _query(cursor=cursor, limit=limit, **filters)
        return cast(Page, await self.request("GET", "/api/v1/envelopes", params=params))

    async def iter_envelopes(self, **filters: Any) -> AsyncIterator[dict[str, Any]]:
        """Every envelope matching ``filters``, following cursors."""
        cursor: str | None = None
        while True:
            page = await self.list_envelopes(cursor=cursor, **filters)
            for item in page["items"]:
                yield item
            cursor = page["next_cursor"]
            if cursor is None:
                return

    async def create_webhook(self, url: str, events: Sequence[str] = ("*",)) -> Webhook:
        """``POST /api/v1/webhooks``."""
        return cast(
            Webhook,
            await self.request(
                "POST", "/api/v1/webhooks", json={"url": url, "events": list(events)}
            ),
        )
