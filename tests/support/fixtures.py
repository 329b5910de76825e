"""Pytest fixtures for the loopback peers.

Loaded by ``tests/conftest.py`` with ``pytest_plugins = ["tests.support.fixtures"]``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.sms_gateway import SmsGateway
from tests.support.smtp_server import SmtpTestServer


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
