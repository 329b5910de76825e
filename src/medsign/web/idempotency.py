"""``Idempotency-Key`` on every POST of the API (draft-ietf-httpapi-idempotency-key-header).

A pure ASGI middleware: for an authenticated ``POST /api/v1/...`` carrying the header,

1. the key is reserved for the organization (a row in ``idempotency_records`` with
   status 0) in its own transaction; a concurrent request with the same key gets 409
   (draft §2.6 "concurrent requests"); a reservation left by a crashed process is taken
   over after :data:`STALE_AFTER`;
2. a retry with the same key and the same request (method, path and body — JSON is
   compared canonically, multipart bodies without their random boundary) gets the first
   response again, with ``Idempotent-Replayed: true``; the same key with a different
   request is a 422 problem (draft §2.7);
3. only 2xx JSON answers are kept; after any other answer the reservation is released
   so the client can retry with the same key.

``POST /api/v1/envelopes`` keeps its own handling (record written in the transaction
that creates the envelope), so it is skipped here.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medsign.errors import Conflict, DomainError, LimitExceeded, Unauthorized
from medsign.idempotency.models import IdempotencyRecord
from medsign.idempotency.service import lookup, request_hash, scoped_key
from medsign.organizations.service import authenticate_scope
from medsign.runtime import Runtime
from medsign.web.problems import domain_problem

STALE_AFTER = timedelta(minutes=5)
SKIP_PATHS = frozenset({"/api/v1/envelopes", "/api/v1/verify"})
# Answers whose secrets must not be kept in clear: the stored copy has them as null
# (a replay then tells the id of the token created, not its value).
REDACT = {"/api/v1/tokens": ("token",)}
_BOUNDARY = re.compile(r"boundary=\"?([^\";]+)\"?", re.IGNORECASE)


def fingerprint(method: str, path: str, content_type: str, body: bytes) -> str:
    """The request hash compared between retries (canonical JSON; multipart boundary out)."""
    if content_type.startswith("application/json"):
        # Malformed JSON is hashed as is (the route answers 422 anyway).
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    elif content_type.startswith("multipart/"):
        match = _BOUNDARY.search(content_type)
        if match:
            body = body.replace(match.group(1).encode(), b"BOUNDARY")
    return request_hash(method, path, body)


@dataclass(frozen=True)
class _Begin:
    organization_id: str | None = None  # None: not ours to handle (e.g. bad token)
    replay: tuple[int, Any] | None = None
    key: str = ""  # as stored: per branch for a branch token (idempotency.service)


class IdempotencyMiddleware:
    """Wraps the app; see the module docstring."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.rt = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not str(scope["path"]).startswith("/api/v1/")
            or scope["path"] in SKIP_PATHS
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get("idempotency-key")
        if key is None:
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read_body(receive)
            auth = headers.get("authorization", "")
            scheme, _, token = auth.partition(" ")
            fp = fingerprint(
                "POST",
                scope["path"]
                + ("?" + scope["query_string"].decode() if scope["query_string"] else ""),
                headers.get("content-type", ""),
                body,
            )
            begun = await run_in_threadpool(
                self._begin, token.strip() if scheme.lower() == "bearer" else "", key, fp
            )
        except DomainError as exc:
            await domain_problem(exc)(scope, receive, send)
            return
        if begun.replay is not None:
            status, stored = begun.replay
            replay = json.dumps(stored, ensure_ascii=False).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(replay)).encode()),
                        (b"idempotent-replayed", b"true"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": replay})
            return
        sent = False

        async def replay_receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        if begun.organization_id is None:
            await self.app(scope, replay_receive, send)
            return
        org_id = begun.organization_id
        status = 500
        content_type = ""
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = int(message["status"])
                content_type = Headers(raw=message.get("headers", [])).get("content-type", "")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture)
        finally:
            keep: Any = None
            if 200 <= status < 300 and content_type.startswith("application/json"):
                try:
                    keep = json.loads(b"".join(chunks))
                except ValueError:
                    keep = None
                if isinstance(keep, dict):
                    for field in REDACT.get(scope["path"], ()):
                        keep[field] = None
            await run_in_threadpool(self._finish, org_id, begun.key, status, keep)

    async def _read_body(self, receive: Receive) -> bytes:
        limit = self.rt.settings.max_upload_bytes + 1024 * 1024
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise LimitExceeded(
                    f"The request is larger than the limit of {limit} bytes.",
                    limit="max_upload_bytes",
                )
            parts.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(parts)

    def _begin(self, token: str, key: str, fp: str) -> _Begin:
        rt = self.rt
        now = rt.clock()
        try:
            with rt.transaction() as session:
                try:
                    scope = authenticate_scope(session, rt.keyring, token, now=now)
                except Unauthorized:
                    return _Begin()  # the route answers 401
                org_id = scope.organization_id
                key = scoped_key(key, scope.branch_id)
                stored = lookup(session, org_id, key, fp)  # no scope here: key as is
                if stored is None:
                    session.add(
                        IdempotencyRecord(
                            organization_id=org_id,
                            key=key,
                            request_hash=fp,
                            status_code=0,
                            response={},
                            created_at=now,
                        )
                    )
                    session.flush()
                    return _Begin(organization_id=org_id, key=key)
                if stored[0] != 0:
                    return _Begin(organization_id=org_id, replay=stored, key=key)
                row = session.scalars(
                    select(IdempotencyRecord)
                    .where(
                        IdempotencyRecord.organization_id == org_id, IdempotencyRecord.key == key
                    )
                    .with_for_update()
                ).one()
                if now - row.created_at < STALE_AFTER:
                    raise Conflict(
                        "A request with this Idempotency-Key is still being processed; "
                        "retry in a moment."
                    )
                row.created_at = now  # the first attempt died; take it over
                return _Begin(organization_id=org_id, key=key)
        except IntegrityError as exc:
            raise Conflict(
                "A request with this Idempotency-Key is being processed; retry in a moment."
            ) from exc

    def _finish(self, organization_id: str, key: str, status: int, body: Any) -> None:
        with self.rt.transaction() as session:
            where = (
                IdempotencyRecord.organization_id == organization_id,
                IdempotencyRecord.key == key,
                IdempotencyRecord.status_code == 0,
            )
            if body is None:
                session.execute(delete(IdempotencyRecord).where(*where))
                return
            row = session.scalars(select(IdempotencyRecord).where(*where)).first()
            if row is not None:
                row.status_code = status
                row.response = body
