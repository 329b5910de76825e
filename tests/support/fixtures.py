"""Pytest fixtures for the loopback peers.

Loaded by ``tests/conftest.py`` with ``pytest_plugins = ["tests.support.fixtures"]``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
import uvicorn

from medsign.runtime import Runtime
from medsign.web.app import create_app
from tests.support.ports import free_port
from tests.support.sms_gateway import SmsGateway
from tests.support.smtp_server import SmtpTestServer

if TYPE_CHECKING:
    from tests.support.s3_server import S3TestServer


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    """A running SMTP server on loopback that records what it receives."""
    with SmtpTestServer() as server:
        yield server


@pytest.fixture
def sms_gateway() -> Iterator[SmsGateway]:
    """A running HTTP SMS gateway on loopback that records what it accepts."""
    with SmsGateway() as gateway:
        yield gateway


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3TestServer]:
    """moto's S3 server on loopback, shared by the session (tests use their own buckets)."""
    from tests.support.s3_server import S3TestServer  # moto loads only where S3 is tested

    with S3TestServer() as server:
        yield server


@pytest.fixture
def s3_bucket(s3_server: S3TestServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket on the running S3 server, with boto3's test credentials set."""
    from tests.support.s3_server import use_test_credentials

    use_test_credentials(monkeypatch)
    return s3_server.new_bucket()


@pytest.fixture
def served(rt: Runtime) -> Iterator[str]:
    """The app on ``rt`` served by uvicorn on a loopback port, in a thread (for real
    parallel requests over HTTP)."""
    port = free_port()
    config = uvicorn.Config(
        create_app(runtime=rt, migrate=False), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)
