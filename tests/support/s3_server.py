"""A real S3-compatible server on loopback: moto's server mode, started by the test.

moto keeps its buckets in this process's memory, so stopping the server (the port is
closed: clients get "connection refused") and starting it again on the same port
brings the same objects back, which is what an outage test needs.
"""

from __future__ import annotations

import threading
import uuid
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from tests.support.peer import LoopbackPeer
from tests.support.ports import free_port

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# moto takes any credentials; boto3 needs some to sign requests (SigV4).
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "medsign-test",
    "AWS_SECRET_ACCESS_KEY": "medsign-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class _QuietHandler(MotoRequestHandler):
    """moto's request handler without werkzeug's line per request on stderr."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing."""


class S3TestServer(LoopbackPeer):
    """moto's S3 on 127.0.0.1 and a fixed free port, in a daemon thread; restartable."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._app = DomainDispatcherApplication(create_backend_app)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._client: S3Client | None = None

    @property
    def endpoint_url(self) -> str:
        """What ``MEDSIGN_S3_ENDPOINT_URL`` is set to."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Listen on the port (again) and serve in a background thread."""
        assert self._server is None, "already running"
        self._server = make_server(
            "127.0.0.1", self.port, self._app, threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the listening socket (connections are refused)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def client(self) -> S3Client:
        """A plain boto3 client for the test's own look at the bucket (no retries)."""
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _make_client(self) -> S3Client:
        return boto3.session.Session(
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
        ).client(
            "s3",
            endpoint_url=self.endpoint_url,
            config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}),
        )

    def new_bucket(self) -> str:
        """Create a bucket with a fresh name (moto's state is shared by the session)."""
        name = f"medsign-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return name


def use_test_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point boto3's environment at the test credentials and nothing of this machine's."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/medsign-test/config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/medsign-test/credentials")
