"""A loopback server shaped like the Telegram Bot API's ``sendMessage``
(https://core.telegram.org/bots/api#sendmessage) for one bot token."""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.peer import LoopbackPeer


@dataclass(frozen=True)
class SentMessage:
    """One message the bot sent."""

    chat_id: str
    text: str


class BotApi(LoopbackPeer):
    """``POST /bot<token>/sendMessage``: known chats get the message, blocked ones 403."""

    def __init__(self) -> None:
        self.token = f"{secrets.randbelow(10**9)}:{secrets.token_urlsafe(26)}"
        self.chats: set[str] = set()
        self.blocked: set[str] = set()
        self.sent: list[SentMessage] = []
        self.webhook: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``MEDSIGN_TELEGRAM_API_URL`` for this peer."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Serve in a daemon thread."""
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop and release the port."""
        self._server.shutdown()
        self._server.server_close()

    def handle(self, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call."""
        if path == f"/bot{self.token}/setWebhook":
            self.webhook = json.loads(body)
            return 200, {"ok": True, "result": True, "description": "Webhook was set"}
        if path != f"/bot{self.token}/sendMessage":
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        data = json.loads(body)
        chat, text = str(data.get("chat_id", "")), data.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= 4096:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: text"}
        if chat in self.blocked:
            return 403, {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            }
        if chat not in self.chats:
            return 400, {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: chat not found",
            }
        with self._lock:
            self.sent.append(SentMessage(chat, text))
            number = len(self.sent)
        return 200, {
            "ok": True,
            "result": {"message_id": number, "chat": {"id": int(chat)}, "text": text},
        }


def _handler(api: BotApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, payload = api.handle(self.path, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
