"""The SSRF guard on aiohttp sessions (medsign.net.guarded_http): a loopback server that
would answer is never reached unless private targets are allowed, whether the URL names
it by address or by a host name that resolves to it; other non-public literals are
refused before any connection is tried."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from medsign.net import guarded_http, ssrf

RULE = ssrf.Rule("test callers", "MEDSIGN_TEST_ALLOW_PRIVATE")


class _Counting(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[int, list[str]]]:
    """A loopback HTTP server answering 204 and recording each request path."""
    hits: list[str] = []
    handler = type("Handler", (_Counting,), {"hits": hits})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], hits
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


async def _get(url: str, *, allow_private: bool) -> int:
    async with (
        guarded_http.session(allow_private=allow_private, rule=RULE) as http,
        http.get(url, timeout=5) as res,  # type: ignore[arg-type]
    ):
        return res.status


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_is_refused_unless_allowed(server: tuple[int, list[str]], host: str) -> None:
    port, hits = server
    url = f"http://{host}:{port}/x"
    with pytest.raises(ssrf.UnsafeUrl, match="MEDSIGN_TEST_ALLOW_PRIVATE"):
        asyncio.run(_get(url, allow_private=False))
    assert hits == []  # nothing was sent
    assert asyncio.run(_get(url, allow_private=True)) == 204
    assert hits == ["/x"]


@pytest.mark.parametrize(
    "host",
    ["10.20.30.40", "192.168.0.1", "172.16.5.5", "169.254.169.254", "[fd00::1]", "[fe80::1]"],
)
def test_private_and_link_local_literals_are_refused_before_connecting(host: str) -> None:
    with pytest.raises(ssrf.UnsafeUrl, match="loopback, private or link-local"):
        asyncio.run(_get(f"http://{host}/", allow_private=False))
