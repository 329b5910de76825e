"""An asyncio SMS gateway for the load test (contract: docs/sms-gateway.md).

It runs its own event loop in a daemon thread, so it answers medsign's worker at once
even while the load generator's loop is busy with hundreds of flows, and it hands
each accepted message to whoever waits for that phone number, on the waiter's loop.
It deduplicates by ``id`` (200 for a repeat, 409 for an ``id`` reused with another
``to``/``text``), as the contract asks; it checks nothing else a bench does not need.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from http import HTTPStatus

MAX_HEAD = 16 * 1024  # request line and headers
MAX_BODY = 64 * 1024  # an SMS body is a few hundred bytes


class AsyncSmsGateway:
    """``POST /messages`` on 127.0.0.1 and a free port; messages routed by phone number."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="sms-gateway", daemon=True)
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[str, str]] = {}  # id -> (to, text)
        self._waiters: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Queue[str]]] = {}
        self._server: asyncio.Server | None = None
        self.port = 0
        self.accepted = 0  # new messages taken (202)
        self.duplicates = 0  # repeats answered 200
        self.unrouted = 0  # messages to a phone nobody waits for

    @property
    def url(self) -> str:
        """The base URL to put in ``MEDSIGN_SMS_URL``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start serving; returns once the port is bound."""
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the SMS gateway did not start within 10 s")

    def stop(self) -> None:
        """Close the listening socket and end the loop."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def expect(self, phone: str) -> asyncio.Queue[str]:
        """A queue on the caller's running loop that receives the texts sent to ``phone``."""
        queue: asyncio.Queue[str] = asyncio.Queue()
        with self._lock:
            self._waiters[phone] = (asyncio.get_running_loop(), queue)
        return queue

    def forget(self, phone: str) -> None:
        """Stop routing messages to ``phone`` (its flow has ended)."""
        with self._lock:
            self._waiters.pop(phone, None)

    # -- the server ---------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._connection, "127.0.0.1", 0, backlog=1024)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            self._loop.run_until_complete(self._server.wait_closed())
            self._loop.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """HTTP/1.1 (RFC 9112) with keep-alive: one request after another."""
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if len(head) > MAX_HEAD:
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path = [*lines[0].split(" "), "", ""][:2]
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name:
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0") or 0)
                if length > MAX_BODY:
                    return
                body = await reader.readexactly(length)
                status, payload = self._handle(method, path, headers, body)
                data = json.dumps(payload).encode()
                kind = "application/problem+json" if status >= 400 else "application/json"
                writer.write(
                    f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
                    f"Content-Type: {kind}\r\nContent-Length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return
        finally:
            writer.close()

    def _handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, object]]:
        if method != "POST" or path.rstrip("/") != "/messages":
            return 404, _problem(404, "Only POST /messages exists")
        try:
            data = json.loads(body)
            sms_id, to, text = str(data["id"]), str(data["to"]), str(data["text"])
        except (ValueError, KeyError, TypeError):
            return 400, _problem(400, "Body must be JSON with id, to and text")
        if headers.get("idempotency-key", sms_id) != sms_id:
            return 400, _problem(400, "Idempotency-Key must equal id")
        with self._lock:
            known = self._seen.get(sms_id)
            if known is not None:
                if known != (to, text):
                    return 409, _problem(409, "id already used for another message")
                self.duplicates += 1
                return 200, {"id": sms_id, "status": "accepted", "duplicate": True}
            self._seen[sms_id] = (to, text)
            self.accepted += 1
            waiter = self._waiters.get(to)
            if waiter is None:
                self.unrouted += 1
        if waiter is not None:
            loop, queue = waiter
            # RuntimeError: the waiter's loop has closed, the run is over.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(queue.put_nowait, text)
        return 202, {"id": sms_id, "status": "accepted", "duplicate": False}


def _problem(status: int, detail: str) -> dict[str, object]:
    # RFC 9457 problem details.
    return {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
