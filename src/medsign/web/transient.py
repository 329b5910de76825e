"""Transient database errors never reach a client as a 500.

An ASGI middleware around the routes: when a request fails with a serialization
failure or a deadlock (:mod:`medsign.db.transient`), every transaction it opened was
rolled back whole and its side effects were only queued in them (the outbox), so the
request is run again — at most ``attempts`` times, with a short jittered pause, and only
while no byte of the answer has been sent and its body (kept up to ``replay_bytes``) can
be replayed. What still fails, and a database that cannot be reached, is answered 503
with ``Retry-After`` (RFC 9110 §15.6.4, §10.2.3).
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medsign.db.transient import Transient, classify
from medsign.web.problems import problem

log = logging.getLogger("medsign.web")


class TransientErrorMiddleware:
    """Retry requests that lost a database race; 503 when the database is away."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        attempts: int = 3,
        replay_bytes: int = 8 * 1024 * 1024,
        retry_after: int = 5,
    ) -> None:
        self.app = app
        self.attempts = attempts
        self.replay_bytes = replay_bytes
        self.retry_after = retry_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request, again if it lost a race."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        kept: list[Message] = []
        kept_bytes = 0
        replayable = True

        async def recording_receive() -> Message:
            nonlocal kept_bytes, replayable
            message = await receive()
            if message["type"] == "http.request" and replayable:
                kept_bytes += len(message.get("body", b""))
                if kept_bytes > self.replay_bytes:
                    replayable = False
                    kept.clear()
                else:
                    kept.append(message)
            return message

        def replay() -> Receive:
            queue = list(kept)

            async def replaying_receive() -> Message:
                if queue:
                    return queue.pop(0)
                return await recording_receive()

            return replaying_receive

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        current: Receive = recording_receive
        for attempt in range(1, self.attempts + 1):
            try:
                await self.app(scope, current, watching_send)
                return
            except Exception as exc:
                kind = classify(exc)
                if kind is None or started:
                    raise
                if kind is Transient.RETRY and replayable and attempt < self.attempts:
                    log.info("request lost a database race (attempt %d); retrying", attempt)
                    await asyncio.sleep(0.02 * attempt * (0.5 + random.random()))  # noqa: S311
                    current = replay()
                    continue
                await self._unavailable(kind, scope, receive, send)
                return

    async def _unavailable(
        self, kind: Transient, scope: Scope, receive: Receive, send: Send
    ) -> None:
        log.warning("database %s: answering 503", "busy" if kind is Transient.RETRY else "away")
        detail: dict[str, Any] = {"retry_after": self.retry_after}
        response = problem(
            503,
            "service-unavailable",
            "Service unavailable",
            "The database is busy or cannot be reached right now; nothing was changed. "
            f"Try again in {self.retry_after} seconds.",
            **detail,
        )
        await response(scope, receive, send)
