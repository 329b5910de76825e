"""How much server-side time the identity provider round trip adds to a signature.

Run ``.venv/bin/python bench/idp.py [-n 40]``. medsign runs in-process (ASGI through
Starlette's TestClient, SQLite in a temporary directory) against the loopback OpenID
provider of the tests (tests/support/oidc_peer.py: real HTTP, ES256 ID tokens). For each
signature it times "Sign with <provider>" (``POST /s/{token}/idp``: the login row, the
audit event, the redirect) and the callback (``GET /idp/callback/...``: state check,
code exchange, JWKS, ID token verification, userinfo, identity match, signature and
evidence), and subtracts the time spent waiting for the provider inside the callback.
Target ([idp]): under 20 ms per signature excluding the provider.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from pydantic import SecretStr

from medsign.identity.protocol import Http
from medsign.runtime import Runtime
from medsign.settings import Settings
from medsign.web.app import create_app
from tests.support.api import new_org
from tests.support.idp_flow import at_provider, register, send
from tests.support.oidc_peer import OidcPeer
from tests.support.pages import form_fields


@dataclass(frozen=True)
class TimedHttp(Http):
    """The app's provider client, adding the time of each call to ``spent``."""

    spent: list[float]

    def get_json(self, url: str, what: str, **headers: str) -> dict[str, Any]:
        """Timed GET."""
        start = time.perf_counter()
        try:
            return super().get_json(url, what, **headers)
        finally:
            self.spent.append(time.perf_counter() - start)

    def post_form(
        self, url: str, data: dict[str, str], what: str, auth: tuple[str, str] | None
    ) -> httpx.Response:
        """Timed POST."""
        start = time.perf_counter()
        try:
            return super().post_form(url, data, what, auth)
        finally:
            self.spent.append(time.perf_counter() - start)


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[int(len(ordered) * 0.9) - 1]
    return f"median {statistics.median(values) * 1000:6.2f} ms   p90 {p90 * 1000:6.2f} ms"


def main() -> None:
    """Run the round trips and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=40, help="signatures to time")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="medsign-bench-idp-"))
    settings = Settings(
        data_dir=work / "data",
        public_url="http://testserver",
        in_process_worker=False,
        idp_allow_http=True,
        api_rate_per_minute=1_000_000,
        secret_key=SecretStr(secrets.token_hex(32)),
        _env_file=None,
    )
    rt = Runtime.build(settings)
    spent: list[float] = []
    begin, server, provider = [], [], []
    with (
        OidcPeer(rt.clock) as peer,
        TestClient(create_app(runtime=rt), follow_redirects=False) as client,
    ):
        client.app.state.idp_http = TimedHttp(  # type: ignore[attr-defined]
            httpx.Client(trust_env=False), 10.0, spent
        )
        _, headers = new_org(rt)
        provider_id = register(client, headers, peer)["id"]
        for i in range(args.n + 3):  # the first three warm caches up and are not counted
            _, path = send(client, headers, provider_id)
            csrf = form_fields(client.get(path + "?lang=en").text)["csrf"]
            start = time.perf_counter()
            res = client.post(f"{path}/idp", data={"csrf": csrf, "lang": "en"})
            began = time.perf_counter() - start
            back = at_provider(res.headers["location"])
            spent.clear()
            start = time.perf_counter()
            done = client.get(back)
            total = time.perf_counter() - start
            assert done.status_code == 303, done.text
            if i >= 3:
                begin.append(began)
                provider.append(sum(spent))
                server.append(total - sum(spent))
    both = [b + s for b, s in zip(begin, server, strict=True)]
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; {args.n} signatures")
    print(f"POST /s/{{token}}/idp (to the provider)      {_ms(begin)}")
    print(f"GET /idp/callback, excluding the provider  {_ms(server)}")
    print(f"  waiting for the provider (token, JWKS, userinfo) {_ms(provider)}")
    print(f"server-side time added by the round trip   {_ms(both)}   (target < 20 ms)")


if __name__ == "__main__":
    main()
