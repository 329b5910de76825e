"""medsign served for real: ``medsign serve`` as a subprocess on a free loopback port.

Usage::

    with migrated_database("sqlite", tmp) as url, serve_medsign(tmp, url, env={...}) as app:
        doc = app.upload(make_pdf(2))
        env = app.create_envelope(doc["id"], {...signer...})

or, with a fresh SMTP server and SMS gateway wired in::

    with serve_with_peers(tmp, "postgresql") as served:
        served.app.upload(...); served.smtp.wait_for(...); served.sms.wait_for(...)

The process gets its own data dir, a fresh migrated database (SQLite or PostgreSQL,
see :mod:`tests.support.databases`), the given environment (SMTP/SMS URLs of the
loopback peers) and nothing inherited from ``MEDSIGN_*`` variables or a ``.env`` file.
An organization is created with the real CLI (``medsign org create``). At the end the
process gets SIGTERM, then SIGKILL if it has not stopped within a few seconds.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from medsign.pki.keys import CA_CERT_FILE
from tests.support.cli import run_cli
from tests.support.databases import migrated_database
from tests.support.ports import free_port
from tests.support.sms_gateway import SmsGateway
from tests.support.smtp_server import SmtpTestServer

START_TIMEOUT = 30.0  # seconds until /healthz must answer 200
STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL
CLI_TIMEOUT = 60.0  # seconds for one ``medsign org create``
HTTP_TIMEOUT = 30.0  # the signed PDF may wait for the seal job (up to 20 s server-side)


def medsign_command() -> list[str]:
    """The console script of the running interpreter's environment (else ``python -m``)."""
    script = Path(sys.executable).parent / "medsign"
    if script.exists():
        return [str(script)]
    found = shutil.which("medsign")
    return [found] if found else [sys.executable, "-m", "medsign.cli.main"]


def _clean_environ(extra: Mapping[str, str]) -> dict[str, str]:
    """os.environ without any ``MEDSIGN_*`` setting of the developer's shell, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSIGN_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


class ServedMedsign:
    """A running ``medsign serve`` process, its organization and an API client for it."""

    def __init__(
        self,
        *,
        url: str,
        data_dir: Path,
        database_url: str,
        process: subprocess.Popen[bytes],
        log_file: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.url = url
        self.env = dict(env or {})  # the process's environment (for the CLI beside it)
        self.data_dir = data_dir
        self.database_url = database_url
        self.process = process
        self.log_file = log_file
        self.organization_id = ""
        self.token = ""
        self._client = httpx.Client(base_url=url, timeout=HTTP_TIMEOUT, follow_redirects=False)

    # -- the process ----------------------------------------------------------------

    def output(self) -> str:
        """Everything the process wrote to stdout and stderr so far."""
        try:
            return self.log_file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def output_tail(self, chars: int = 6000) -> str:
        """The end of the process output, for assertion messages."""
        text = self.output()
        return text if len(text) <= chars else "…" + text[-chars:]

    @property
    def ca_cert_file(self) -> Path:
        """The development CA certificate (written when the first seal is needed)."""
        return self.data_dir / "keys" / CA_CERT_FILE

    def close(self) -> None:
        """Close the API client."""
        self._client.close()

    # -- the API (shared/API.md) ----------------------------------------------------

    @property
    def headers(self) -> dict[str, str]:
        """``Authorization`` for the organization's token."""
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def http(self) -> httpx.Client:
        """A plain client on the service's base URL (no token)."""
        return self._client

    def _json(self, res: httpx.Response, status: int) -> dict[str, Any]:
        assert res.status_code == status, (
            f"{res.request.method} {res.request.url.path} -> {res.status_code}: {res.text}\n"
            f"--- medsign output ---\n{self.output_tail()}"
        )
        body: dict[str, Any] = res.json()
        return body

    def upload(
        self, data: bytes, *, title: str = "User agreement", kind: str = "user_agreement"
    ) -> dict[str, Any]:
        """``POST /api/v1/documents``; asserts 201."""
        res = self._client.post(
            "/api/v1/documents",
            headers=self.headers,
            files={"files": ("document.pdf", data, "application/pdf")},
            data={"title": title, "kind": kind},
        )
        return self._json(res, 201)

    def upload_files(
        self, files: list[tuple[str, bytes, str]], *, title: str = "User agreement"
    ) -> dict[str, Any]:
        """``POST /api/v1/documents`` with several ``(name, data, type)`` files, glued in
        order; asserts 201."""
        res = self._client.post(
            "/api/v1/documents",
            headers=self.headers,
            files=[("files", f) for f in files],
            data={"title": title, "kind": "user_agreement"},
        )
        return self._json(res, 201)

    def create_envelope(self, document_id: str, *signers: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /api/v1/envelopes``; asserts 201."""
        res = self._client.post(
            "/api/v1/envelopes",
            headers=self.headers,
            json={"document_id": document_id, "signers": [dict(s) for s in signers]},
        )
        return self._json(res, 201)

    def envelope(self, envelope_id: str) -> dict[str, Any]:
        """``GET /api/v1/envelopes/{id}``; asserts 200."""
        res = self._client.get(f"/api/v1/envelopes/{envelope_id}", headers=self.headers)
        return self._json(res, 200)

    def envelope_pdf(self, envelope_id: str) -> bytes:
        """``GET /api/v1/envelopes/{id}/pdf``; asserts 200 and a PDF."""
        res = self._client.get(f"/api/v1/envelopes/{envelope_id}/pdf", headers=self.headers)
        assert res.status_code == 200, f"{res.status_code}: {res.text}"
        assert res.content.startswith(b"%PDF-"), res.content[:100]
        return res.content

    def void(self, envelope_id: str, reason: str) -> dict[str, Any]:
        """``POST /api/v1/envelopes/{id}/void``; asserts 200."""
        res = self._client.post(
            f"/api/v1/envelopes/{envelope_id}/void", headers=self.headers, json={"reason": reason}
        )
        return self._json(res, 200)

    def wait_for_envelope(
        self, envelope_id: str, status: str, timeout: float = 20.0
    ) -> dict[str, Any]:
        """Poll ``GET /api/v1/envelopes/{id}`` until its status is ``status``."""
        deadline = time.monotonic() + timeout
        while True:
            body = self.envelope(envelope_id)
            if body["status"] == status:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"envelope {envelope_id} is {body['status']!r}, not {status!r}, "
                    f"after {timeout} s: {body}\n--- medsign output ---\n{self.output_tail()}"
                )
            time.sleep(0.1)


def _wait_healthy(app: ServedMedsign, timeout: float) -> None:
    """Poll ``/healthz`` until 200; fail with the process output if it dies or times out."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while True:
        code = app.process.poll()
        if code is not None:
            raise AssertionError(
                f"medsign serve exited with {code} before /healthz answered\n"
                f"--- medsign output ---\n{app.output_tail()}"
            )
        try:
            res = app.http.get("/healthz", timeout=2.0)
        except httpx.TransportError as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if res.status_code == 200:
                return
            last = f"{res.status_code} {res.text}"
        if time.monotonic() > deadline:
            raise AssertionError(
                f"medsign serve did not answer /healthz with 200 within {timeout} s "
                f"(last: {last})\n--- medsign output ---\n{app.output_tail()}"
            )
        time.sleep(0.1)


def create_org(name: str, *, env: Mapping[str, str], cwd: Path) -> tuple[str, str]:
    """Run ``medsign org create --name NAME``; return (organization_id, token)."""
    done = subprocess.run(
        [*medsign_command(), "org", "create", "--name", name],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    stdout = done.stdout.decode("utf-8", "replace")
    stderr = done.stderr.decode("utf-8", "replace")
    return _created_org(done.returncode, stdout, stderr)


def add_org(app: ServedMedsign, name: str) -> tuple[str, str]:
    """Another organization on the served database: ``medsign org create`` run in this
    process (tests.support.cli), as cheap as a request; return (organization_id, token)."""
    done = run_cli(app.env, "org", "create", "--name", name)
    return _created_org(done.returncode, done.stdout, done.stderr)


def _created_org(returncode: int, stdout: str, stderr: str) -> tuple[str, str]:
    assert returncode == 0, (
        f"medsign org create exited with {returncode}\n"
        f"--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    )
    lines = stdout.strip().splitlines()
    assert lines, f"medsign org create printed nothing on stdout\n--- stderr ---\n{stderr}"
    created = json.loads(lines[-1])
    assert isinstance(created, dict), stdout
    assert set(created) == {"organization_id", "token"}, stdout
    return str(created["organization_id"]), str(created["token"])


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, wait, then SIGKILL: never leave the process behind."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


@contextmanager
def serve_medsign(
    tmp: Path,
    database_url: str,
    *,
    env: Mapping[str, str] | None = None,
    org_name: str = "Clinic One",
    start_timeout: float = START_TIMEOUT,
    args: Sequence[str] = (),
    derive_public_url: bool = False,
    public_host: str = "127.0.0.1",
) -> Iterator[ServedMedsign]:
    """Start ``medsign serve`` on a free loopback port; yield it with an organization.

    ``database_url`` must point to a migrated database (``migrated_database``), so
    the server and ``medsign org create`` can start side by side without racing on
    migrations. ``env`` adds settings such as ``MEDSIGN_SMTP_URL``/``MEDSIGN_SMS_URL``;
    ``args`` adds options of ``medsign serve`` (e.g. ``--workers 2``);
    ``derive_public_url`` leaves ``MEDSIGN_PUBLIC_URL`` unset, so serve derives it;
    ``public_host`` names the loopback host in the URL ("localhost" where a browser needs
    a domain, e.g. a WebAuthn relying party id, which may not be an IP address).
    """
    tmp.mkdir(parents=True, exist_ok=True)
    data_dir = tmp / "data"
    port = free_port()
    url = f"http://{public_host}:{port}"
    full_env = _clean_environ(
        {
            "MEDSIGN_DATA_DIR": str(data_dir),
            "MEDSIGN_DATABASE_URL": database_url,
            "MEDSIGN_PUBLIC_URL": url,
            # Shared by the server and the CLI, so neither has to create secret.key.
            "MEDSIGN_SECRET_KEY": secrets.token_hex(32),
            **(env or {}),
        }
    )
    if derive_public_url:
        del full_env["MEDSIGN_PUBLIC_URL"]
    log_file = tmp / "medsign-serve.log"
    with ExitStack() as stack:
        log: IO[bytes] = stack.enter_context(log_file.open("wb"))
        process = subprocess.Popen(
            [*medsign_command(), "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            env=full_env,
            cwd=tmp,  # no .env from the developer's working directory
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        stack.callback(_stop, process)
        app = ServedMedsign(
            url=url,
            data_dir=data_dir,
            database_url=database_url,
            process=process,
            log_file=log_file,
            env=full_env,
        )
        stack.callback(app.close)
        # The CLI runs while the server starts (both only check the migrated schema).
        app.organization_id, app.token = create_org(org_name, env=full_env, cwd=tmp)
        _wait_healthy(app, start_timeout)
        yield app
        if process.poll() is not None:
            raise AssertionError(
                f"medsign serve died during the test (exit {process.returncode})\n"
                f"--- medsign output ---\n{app.output_tail()}"
            )


@dataclass(frozen=True)
class ServedStack:
    """medsign served, with the SMTP server and SMS gateway it sends through."""

    app: ServedMedsign
    smtp: SmtpTestServer
    sms: SmsGateway
    database_kind: str


@contextmanager
def serve_with_peers(
    tmp: Path,
    database_kind: str,
    *,
    args: Sequence[str] = (),
    start_timeout: float = START_TIMEOUT,
    derive_public_url: bool = False,
    public_host: str = "127.0.0.1",
) -> Iterator[ServedStack]:
    """A fresh ``database_kind`` database ('sqlite' or 'postgresql'), SMTP server, SMS
    gateway and ``medsign serve [args]`` wired to them; everything is stopped at the end."""
    db_dir = tmp / "db"
    db_dir.mkdir(parents=True, exist_ok=True)
    with (
        SmtpTestServer() as smtp,
        SmsGateway() as sms,
        migrated_database(database_kind, db_dir) as url,
        serve_medsign(
            tmp / "served",
            url,
            env={
                "MEDSIGN_SMTP_URL": smtp.url,
                "MEDSIGN_SMS_URL": sms.url,
                # the identity provider tests run oidc-provider on http://127.0.0.1
                "MEDSIGN_IDP_ALLOW_HTTP": "true",
                # the webhook tests run their receiver on 127.0.0.1
                "MEDSIGN_WEBHOOK_ALLOW_PRIVATE": "true",
            },
            args=args,
            start_timeout=start_timeout,
            derive_public_url=derive_public_url,
            public_host=public_host,
        ) as app,
    ):
        yield ServedStack(app=app, smtp=smtp, sms=sms, database_kind=database_kind)
