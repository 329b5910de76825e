"""The CSC test server (``certomancer-csc-dummy``'s application) on loopback.

It signs with every key of the Certomancer configuration. Around it, like a trust
service provider's front door: an OAuth 2.0 client-credentials token endpoint whose
token every other call must carry (when ``client_id`` is set), a PIN that
credentials/authorize must carry (when ``pin`` is set), a switch that makes it
answer 503, and a record of the calls.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from certomancer.registry import CertomancerConfig
from csc_dummy.csc_dummy_server import (  # type: ignore[import-untyped]
    CSCWithCertomancer,
    DummyServiceParams,
)

from tests.support.peer import LoopbackPeer
from tests.support.ports import free_port

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class CscTestServer(LoopbackPeer):
    """csc_dummy on ``http://127.0.0.1:<port>`` (``base_url``), API paths ``/csc/v1/``."""

    def __init__(
        self,
        config: CertomancerConfig,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        pin: str | None = None,
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.client_id, self.client_secret, self.pin = client_id, client_secret, pin
        self.token = secrets.token_urlsafe(16)
        self.down = False
        self.calls: list[tuple[str, dict[str, Any]]] = []
        with warnings.catch_warnings():
            # csc_dummy keys its application state by strings (aiohttp would like AppKey)
            warnings.simplefilter("ignore", web.NotAppKeyWarning)
            self._csc = CSCWithCertomancer(
                config, service_params=DummyServiceParams(hash_pinning_required=True)
            )
        self._csc.register_routes()
        # The same operations under CSC API v2 paths (the dummy serves v1 only), so a
        # v2 registration is exercised end to end; requests are recorded either way.
        for name, handler in (
            ("info", self._csc.info),
            ("credentials/list", self._csc.credentials_list),
            ("credentials/info", self._csc.credentials_info),
            ("credentials/authorize", self._csc.credentials_authorize),
            ("signatures/signHash", self._csc.signatures_sign_hash),
        ):
            self._csc.app.router.add_post(f"/csc/v2/{name}", handler)
        self._csc.app.router.add_post("/csc/v2/oauth2/token", self._token)
        self._csc.app.router.add_post("/csc/v1/oauth2/token", self._token)
        self._csc.app.middlewares.append(self._front_door)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ) or form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "invalid_client"}, status=401)
        return web.json_response(
            {"access_token": self.token, "token_type": "Bearer", "expires_in": 3600}
        )

    @web.middleware
    async def _front_door(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.down:
            return web.json_response({"error": "maintenance"}, status=503)
        body: dict[str, Any] = {}
        if request.content_type == "application/json":
            body = json.loads(await request.read() or b"{}")
        self.calls.append((request.path, body))
        protected = not request.path.endswith(("/info", "/oauth2/token"))
        authorized = request.headers.get("Authorization") == f"Bearer {self.token}"
        if self.client_id and protected and not authorized:
            return web.json_response({"error": "invalid_token"}, status=401)
        authorizing = request.path.endswith("/credentials/authorize")
        if self.pin and authorizing and body.get("PIN") != self.pin:
            return web.json_response({"error": "invalid_pin"}, status=400)
        return await handler(request)

    def start(self) -> None:
        """Serve in a thread with its own event loop."""
        self._thread.start()

        async def up() -> web.AppRunner:
            runner = web.AppRunner(self._csc.app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            return runner

        self._runner = asyncio.run_coroutine_threadsafe(up(), self._loop).result(10)

    def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def paths(self) -> list[str]:
        """The paths called so far, in order."""
        return [path for path, _ in self.calls]
