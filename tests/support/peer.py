"""What every loopback test peer shares: start/stop, usable as a context manager."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any, Self


class LoopbackPeer:
    """A server a test starts on 127.0.0.1; subclasses implement ``start`` and ``stop``."""

    def start(self) -> None:
        """Start serving."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop serving and release the port."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def send_json(
    handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any] | None, location: str = ""
) -> None:
    """Answer a loopback peer's request with ``body`` as JSON (and a ``Location``)."""
    data = json.dumps(body).encode() if body is not None else b""
    handler.send_response(status)
    if location:
        handler.send_header("Location", location)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
