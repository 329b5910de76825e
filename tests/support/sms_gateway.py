"""A small real HTTP SMS gateway on loopback, implementing docs/sms-gateway.md.

It records accepted messages, deduplicates by ``id`` (a retry gets the original answer),
checks the bearer token when one is set, and can fail the next N requests (503 by
default) or answer slowly, so retry and timeout handling meet a real server.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from medsign.webhooks.signing import headers_for
from tests.support.peer import LoopbackPeer

E164 = re.compile(r"\+[1-9][0-9]{1,14}")


@dataclass(frozen=True)
class ReceivedSms:
    """One accepted message."""

    id: str
    to: str
    text: str
    headers: dict[str, str]
    callback_url: str | None = None
    sender: str | None = None  # the optional sender name (docs/sms-gateway.md)


class SmsGateway(LoopbackPeer):
    """``ThreadingHTTPServer`` on 127.0.0.1 and a free port, in a daemon thread;
    restartable on the same port (an outage: ``stop()``, later ``start()``)."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token
        self.requests = 0  # every POST /messages, failed ones included
        self.delay = 0.0  # seconds to wait before answering
        self._fail_next = 0
        self._fail_status = 503
        self._fail_to: dict[str, int] = {}  # phone -> requests to it still to fail
        self.duplicates = 0  # accepted again under an id already accepted
        self._messages: list[ReceivedSms] = []
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = self._bind(0)
        self.port = int(self._server.server_address[1])
        self._thread: threading.Thread | None = None

    def _bind(self, port: int) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", port), _make_handler(self))
        server.daemon_threads = True
        return server

    @property
    def url(self) -> str:
        """The base URL to give to ``HttpSmsSender``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start (again) serving in a background thread, on the same port."""
        if self._server is None:
            self._server = self._bind(self.port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the listening socket (connections are refused)."""
        if self._server is not None:
            if self._thread is not None:  # shutdown() waits for a running serve_forever
                self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next ``count`` requests with ``status`` (and accept nothing)."""
        with self._changed:
            self._fail_next = count
            self._fail_status = status

    def fail_to(self, phone: str, count: int) -> None:
        """Answer the next ``count`` requests to ``phone`` with 503 (others go through)."""
        with self._changed:
            self._fail_to[phone] = count

    @property
    def messages(self) -> list[ReceivedSms]:
        """A snapshot of the accepted messages (each id once), oldest first."""
        with self._changed:
            return list(self._messages)

    def wait_for(
        self, predicate: Callable[[ReceivedSms], bool] = lambda _: True, timeout: float = 5.0
    ) -> ReceivedSms:
        """The first accepted message matching ``predicate``, waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for message in self._messages:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"no matching SMS within {timeout} s ({len(self._messages)} accepted)"
                    )
                self._changed.wait(remaining)

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """Apply the gateway contract to one ``POST /messages``; returns (status, JSON)."""
        with self._changed:
            self.requests += 1
            if self._fail_next > 0:
                self._fail_next -= 1
                return self._fail_status, _problem(self._fail_status, "Injected failure")
        if self.token is not None and headers.get("authorization") != f"Bearer {self.token}":
            return 401, _problem(401, "Missing or wrong bearer token")
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return 400, _problem(400, "Body is not UTF-8 JSON")
        if not isinstance(data, dict):
            return 400, _problem(400, "Body must be a JSON object")
        sms_id, to, text = data.get("id"), data.get("to"), data.get("text")
        if not (isinstance(sms_id, str) and 0 < len(sms_id) <= 200):
            return 400, _problem(400, "id must be a non-empty string")
        if not (isinstance(to, str) and E164.fullmatch(to)):
            return 400, _problem(400, "to must be an E.164 number such as +79991234567")
        if not (isinstance(text, str) and text):
            return 400, _problem(400, "text must be a non-empty string")
        with self._changed:
            if self._fail_to.get(to, 0) > 0:
                self._fail_to[to] -= 1
                return 503, _problem(503, "Injected failure for this recipient")
        key = headers.get("idempotency-key")
        if key is not None and key != sms_id:
            return 400, _problem(400, "Idempotency-Key must equal id")
        with self._changed:
            for known in self._messages:
                if known.id == sms_id:
                    if (known.to, known.text) != (to, text):
                        return 409, _problem(409, "id already used for another message")
                    self.duplicates += 1
                    return 200, {"id": sms_id, "status": "accepted", "duplicate": True}
            callback = data.get("callback_url")
            sender = data.get("sender")
            self._messages.append(
                ReceivedSms(
                    sms_id,
                    to,
                    text,
                    headers,
                    callback if isinstance(callback, str) else None,
                    sender if isinstance(sender, str) else None,
                )
            )
            self._changed.notify_all()
        return 202, {"id": sms_id, "status": "accepted", "duplicate": False}

    def delivery_report(
        self, sms_id: str, status: str, secret: str, detail: str = ""
    ) -> tuple[str, bytes, dict[str, str]]:
        """The signed delivery report (docs/sms-gateway.md) the gateway posts for an
        accepted message: its callback URL, body and Standard Webhooks headers."""
        message = next(m for m in self.messages if m.id == sms_id)
        assert message.callback_url, "medsign sent no callback_url"
        body = json.dumps({"id": sms_id, "status": status, "detail": detail}).encode()
        headers = headers_for([secret], f"dlr-{sms_id}-{status}", int(time.time()), body)
        return message.callback_url, body, {"Content-Type": "application/json", **headers}


def _problem(status: int, detail: str) -> dict[str, Any]:
    # RFC 9457 problem details.
    return {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }


def _make_handler(gateway: SmsGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if self.path.rstrip("/") != "/messages":
                self._reply(404, _problem(404, "Only POST /messages exists"))
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            if gateway.delay:
                time.sleep(gateway.delay)
            self._reply(*gateway.handle(headers, body))

        def _reply(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            content_type = "application/problem+json" if status >= 400 else "application/json"
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler
