"""Loopback HTTP servers shaped like two SMS providers' documented APIs, with the
delivery callbacks they send: Twilio's Messages resource and SMS.ru's ``/sms/send``.

Each records what it accepted and builds the status callback the provider would post
(signed the provider's way) as a :class:`Callback` the test posts to medsign.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode

from medsign.notify.sms_smsru import smsru_hash
from medsign.notify.sms_twilio import twilio_signature
from tests.support.peer import LoopbackPeer

E164 = re.compile(r"\+[1-9][0-9]{1,14}")


@dataclass(frozen=True)
class Callback:
    """A delivery report as the provider would post it."""

    url: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Accepted:
    """One accepted message."""

    ref: str
    to: str
    text: str
    form: dict[str, str] = field(default_factory=dict)


class _FormPeer(LoopbackPeer):
    """A ThreadingHTTPServer on 127.0.0.1 answering form POSTs with JSON."""

    def __init__(self) -> None:
        self.accepted: list[Accepted] = []
        self.requests = 0
        self.fail_next: list[tuple[int, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and release the port."""
        self._server.shutdown()
        self._server.server_close()

    def handle(
        self, path: str, headers: dict[str, str], form: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        """Answer one request (subclasses)."""
        raise NotImplementedError

    def dispatch(
        self, path: str, headers: dict[str, str], form: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests += 1
            if self.fail_next:
                return self.fail_next.pop(0)
        return self.handle(path, headers, form)


def _handler(peer: _FormPeer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, payload = peer.dispatch(self.path, headers, dict(parse_qsl(body)))
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class TwilioPeer(_FormPeer):
    """``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with Basic auth."""

    def __init__(self, account_sid: str = "AC" + "1" * 32) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = secrets.token_hex(16)
        self.opted_out: set[str] = set()  # numbers that replied STOP (error 21610)

    @property
    def sms_url(self) -> str:
        """``MEDSIGN_SMS_URL`` for this peer."""
        return f"twilio+http://{self.account_sid}@127.0.0.1:{self.port}"

    def handle(
        self, path: str, headers: dict[str, str], form: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        if path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            return 404, {"code": 20404, "message": "not found", "status": 404}
        expected = (
            "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        )
        if headers.get("authorization") != expected:
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        to, body = form.get("To", ""), form.get("Body", "")
        if not E164.fullmatch(to):
            return 400, {"code": 21211, "message": "The 'To' number is not valid.", "status": 400}
        if not (form.get("From") or form.get("MessagingServiceSid")):
            return 400, {"code": 21603, "message": "'From' is required.", "status": 400}
        if not body:
            return 400, {"code": 21602, "message": "Message body is required.", "status": 400}
        if to in self.opted_out:
            return 400, {
                "code": 21610,
                "message": "Attempt to send to unsubscribed recipient",
                "status": 400,
            }
        sid = "SM" + secrets.token_hex(16)
        with self._lock:
            self.accepted.append(Accepted(sid, to, body, form))
        return 201, {"sid": sid, "status": "queued", "to": to, "body": body, "num_segments": "1"}

    def status_callback(self, sid: str, status: str, error_code: str | None = None) -> Callback:
        """The status callback Twilio posts to the message's ``StatusCallback``."""
        message = next(m for m in self.accepted if m.ref == sid)
        params = [
            ("AccountSid", self.account_sid),
            ("From", message.form.get("From", "")),
            ("MessageSid", sid),
            ("MessageStatus", status),
            ("SmsSid", sid),
            ("SmsStatus", status),
            ("To", message.to),
        ]
        if error_code:
            params.append(("ErrorCode", error_code))
        url = message.form["StatusCallback"]
        return Callback(
            url,
            urlencode(params).encode(),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": twilio_signature(self.auth_token, url, params),
            },
        )


class SmsRuPeer(_FormPeer):
    """``POST /sms/send`` with ``api_id``, ``to``, ``msg``, ``json=1``."""

    def __init__(self, api_id: str = "A1B2C3D4-0000-1111-2222-333344445555") -> None:
        super().__init__()
        self.api_id = api_id
        self.unserved: set[str] = set()  # numbers answered with code 207

    @property
    def sms_url(self) -> str:
        """``MEDSIGN_SMS_URL`` for this peer."""
        return f"smsru+http://127.0.0.1:{self.port}"

    def handle(
        self, path: str, headers: dict[str, str], form: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        if path != "/sms/send":
            return 404, {"status": "ERROR", "status_code": 404}
        if form.get("api_id") != self.api_id:
            return 200, {
                "status": "ERROR",
                "status_code": 200,
                "status_text": "Неправильный api_id",
            }
        to, text = form.get("to", ""), form.get("msg", "")
        if not text:
            return 200, {"status": "ERROR", "status_code": 203, "status_text": "Нет текста"}
        if not re.fullmatch(r"[1-9][0-9]{9,14}", to):
            entry: dict[str, Any] = {
                "status": "ERROR",
                "status_code": 202,
                "status_text": "Неправильно указан номер",
            }
        elif to in self.unserved:
            entry = {
                "status": "ERROR",
                "status_code": 207,
                "status_text": "На этот номер нельзя отправлять",
            }
        else:
            sms_id = f"{secrets.randbelow(10**6):06d}-{secrets.randbelow(10**8):08d}"
            with self._lock:
                self.accepted.append(Accepted(sms_id, to, text, form))
            entry = {"status": "OK", "status_code": 100, "sms_id": sms_id}
        return 200, {"status": "OK", "status_code": 100, "sms": {to: entry}, "balance": 100.5}

    def status_callback(self, url: str, *reports: tuple[str, int]) -> Callback:
        """SMS.ru's callback for ``(sms_id, status_code)`` pairs, with its ``hash``."""
        data = [f"sms_status\n{sms_id}\n{code}\n1764900000" for sms_id, code in reports]
        params = [(f"data[{i}]", d) for i, d in enumerate(data)]
        params.append(("hash", smsru_hash(self.api_id, data)))
        return Callback(
            url, urlencode(params).encode(), {"Content-Type": "application/x-www-form-urlencoded"}
        )
