"""A real webhook receiver on loopback that checks Standard Webhooks signatures.

Signatures are recomputed with the reference ``standardwebhooks`` package (an oracle
independent of medsign's own signing code). The receiver deduplicates on
``webhook-id`` like a careful integrator would, and can misbehave on demand: fail the
next N requests (500 by default), answer 410 Gone, hang longer than the sender waits,
redirect, or go down and come back on the same port.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook

from tests.support.peer import LoopbackPeer


@dataclass(frozen=True)
class Received:
    """One request that carried a valid signature."""

    webhook_id: str
    timestamp: int
    signatures: tuple[str, ...]
    body: dict[str, Any]
    path: str

    @property
    def type(self) -> str:
        """The event type."""
        return str(self.body["type"])

    @property
    def envelope_id(self) -> str | None:
        """The envelope of the event, if any."""
        value = self.body["data"].get("envelope_id")
        return str(value) if value is not None else None


class WebhookReceiver(LoopbackPeer):
    """``ThreadingHTTPServer`` on 127.0.0.1 in a daemon thread; restartable on its port."""

    def __init__(self) -> None:
        self.secrets: list[str] = []  # any of these may have signed a request
        self.requests = 0  # every POST, failed and refused ones included
        self.bad_signatures = 0
        self.all: list[Received] = []  # every validly signed request, duplicates included
        self._unique: dict[str, Received] = {}  # first of each webhook-id, in arrival order
        self._fail_next = 0
        self._fail_status = 500
        self.gone = False
        self.hang_seconds = 0.0
        self.redirect_to: str | None = None
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The endpoint URL to subscribe."""
        return f"http://127.0.0.1:{self.port}/hooks/medsign"

    def start(self) -> None:
        """Start (again) serving, on the same port as before when there was one."""
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _make_handler(self))
        server.daemon_threads = True
        self.port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Go down: stop serving and close the socket (connections are refused)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer the next ``count`` validly signed requests with ``status``."""
        with self._changed:
            self._fail_next = count
            self._fail_status = status

    @property
    def unique(self) -> list[Received]:
        """Accepted messages, each ``webhook-id`` once, in the order first accepted."""
        with self._changed:
            return list(self._unique.values())

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until ``count`` distinct messages were accepted; return them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._unique) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(self._unique)} of {count} webhooks arrived")
                self._changed.wait(remaining)
            return list(self._unique.values())

    def _signed_by_a_secret(self, headers: dict[str, str], body: bytes) -> tuple[str, ...]:
        msg_id = headers.get("webhook-id", "")
        stamp = headers.get("webhook-timestamp", "")
        given = tuple(headers.get("webhook-signature", "").split())
        if not (msg_id and stamp.isdigit() and given):
            return ()
        at = datetime.fromtimestamp(int(stamp), tz=UTC)
        for secret in self.secrets:
            expected = Webhook(secret).sign(msg_id, at, body.decode())
            if expected in given:
                return given
        return ()

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str | None]:
        """Apply the receiver's behaviour to one POST; (status, Location or None)."""
        with self._changed:
            self.requests += 1
        signatures = self._signed_by_a_secret(headers, body)
        if not signatures:
            with self._changed:
                self.bad_signatures += 1
            return 401, None
        if self.hang_seconds:
            time.sleep(self.hang_seconds)
            return 504, None
        if self.gone:
            return 410, None
        if self.redirect_to is not None:
            return 307, self.redirect_to
        with self._changed:
            if self._fail_next > 0:
                self._fail_next -= 1
                return self._fail_status, None
            received = Received(
                webhook_id=headers["webhook-id"],
                timestamp=int(headers["webhook-timestamp"]),
                signatures=signatures,
                body=json.loads(body),
                path=path,
            )
            self.all.append(received)
            self._unique.setdefault(received.webhook_id, received)
            self._changed.notify_all()
        return 204, None


def _make_handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, location = receiver.handle(self.path, headers, body)
            try:
                self.send_response(status)
                if location is not None:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender gave up waiting

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
