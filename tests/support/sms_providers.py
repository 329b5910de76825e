"""Loopback HTTP servers shaped like three SMS providers' documented APIs, with the
delivery callbacks they send: Twilio's Messages resource, SMS.ru's ``/sms/send`` and
Kavenegar's ``/v1/{API-KEY}/sms/send.json`` (with its ``sms/status.json`` lookup).

Each records what it accepted and builds the status callback the provider would post
(signed the provider's way) as a :class:`Callback` the test posts to medsign.
"""

from __future__ import annotations

import base64
import json
import math
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

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

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, payload = peer.dispatch(parts.path, headers, dict(parse_qsl(parts.query)))
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


def _kavenegar(code: int, message: str, entries: Any = None) -> tuple[int, dict[str, Any]]:
    """An answer as Kavenegar gives it: the HTTP status repeated in ``return.status``."""
    return code, {"return": {"status": code, "message": message}, "entries": entries}


class KavenegarPeer(_FormPeer):
    """``POST /v1/{API-KEY}/sms/send.json`` with ``receptor``, ``message``, ``sender``;
    ``GET /v1/{API-KEY}/sms/status.json?messageid=1,2``. Counts the parts of each
    message itself (UCS-2: 70 characters alone, 67 per part; ASCII text as GSM 7-bit: 160, 153)."""

    def __init__(self, api_key: str = "4F6A2B3C5D7E8F9A0B1C2D3E4F5A6B7C8D9E0F1A2B3C") -> None:
        super().__init__()
        self.api_key = api_key
        self.statuses: dict[str, int] = {}  # messageid -> status (1 queued, 10 delivered...)
        self.blocked: set[str] = set()  # receptors answered with status 14 (their filter)
        self.lookups = 0
        self._next_id = 8792343

    @property
    def sms_url(self) -> str:
        """``MEDSIGN_SMS_URL`` for this peer."""
        return f"kavenegar+http://127.0.0.1:{self.port}"

    def handle(
        self, path: str, headers: dict[str, str], form: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        prefix = f"/v1/{self.api_key}/"
        if not path.startswith("/v1/"):
            return _kavenegar(404, "method not found")
        if not path.startswith(prefix):
            return _kavenegar(403, "API key is not valid")
        method = path[len(prefix) :]
        if method == "sms/status.json":
            return self._status(form)
        if method != "sms/send.json":
            return _kavenegar(404, "method not found")
        receptor, text = form.get("receptor", ""), form.get("message", "")
        if not text:
            return _kavenegar(413, "message is empty")
        if not re.fullmatch(r"09[0-9]{9}|00[1-9][0-9]{6,14}", receptor):
            return _kavenegar(411, "receptor is not valid")
        with self._lock:
            self._next_id += 1
            message_id = str(self._next_id)
            status = 14 if receptor in self.blocked else 1
            self.statuses[message_id] = status
            self.accepted.append(Accepted(message_id, receptor, text, form))
        entry = {
            "messageid": int(message_id),
            "message": text,
            "status": status,
            "statustext": "در صف ارسال",
            "sender": form.get("sender", "10004346"),
            "receptor": receptor,
            "date": 1764900000,
            "cost": 120 * self.parts(text),
        }
        return _kavenegar(200, "تایید شد", [entry])

    def _status(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.lookups += 1
            entries = [
                {"messageid": int(i), "status": self.statuses.get(i, 100), "statustext": ""}
                for i in form.get("messageid", "").split(",")
                if i.isdigit()
            ]
        if not entries:
            return _kavenegar(400, "messageid is required")
        return _kavenegar(200, "تایید شد", entries)

    @staticmethod
    def parts(text: str) -> int:
        """How many SMS parts Kavenegar bills ``text`` as (3GPP TS 23.038 sizes)."""
        single, part = (160, 153) if all(ord(c) < 128 for c in text) else (70, 67)
        return 1 if len(text) <= single else math.ceil(len(text) / part)

    def callback(self, url: str, message_id: str, status: int) -> Callback:
        """The (unsigned) delivery callback Kavenegar posts to the panel's URL."""
        body = urlencode([("messageid", message_id), ("status", str(status))]).encode()
        return Callback(url, body, {"Content-Type": "application/x-www-form-urlencoded"})
