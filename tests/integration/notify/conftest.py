"""A runtime wired to loopback channel peers: SMTP, an SMS provider, a push service."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from medsign.runtime import Runtime
from medsign.settings import Settings
from medsign.web.app import create_app
from tests.support.clock import FrozenClock
from tests.support.push_service import PushService
from tests.support.sms_providers import TwilioPeer
from tests.support.smtp_server import SmtpTestServer


@dataclass
class Wired:
    """The runtime, its HTTP client and the peers it talks to."""

    rt: Runtime
    client: TestClient
    smtp: SmtpTestServer
    twilio: TwilioPeer
    push: PushService


def wired_runtime(settings: Settings, clock: FrozenClock, keys_dir: Any, **changes: Any) -> Runtime:
    """A runtime on the test's database with ``changes`` to its settings."""
    runtime = Runtime.build(settings.model_copy(update=changes), clock=clock)
    runtime.seal_keys.root = keys_dir
    return runtime


@pytest.fixture
def wired(
    rt: Runtime,  # empties the tables afterwards
    settings: Settings,
    clock: FrozenClock,
    keys_dir: Any,
    smtp_server: SmtpTestServer,
) -> Iterator[Wired]:
    """Email to aiosmtpd, SMS to a Twilio-shaped peer, push to a loopback push service."""
    with TwilioPeer() as twilio, PushService() as push:
        runtime = wired_runtime(
            settings,
            clock,
            keys_dir,
            smtp_url=SecretStr(smtp_server.url),
            sms_url=twilio.sms_url,
            sms_token=SecretStr(twilio.auth_token),
            sms_from="+15005550006",
        )
        app = create_app(runtime=runtime, migrate=False)
        with TestClient(app, follow_redirects=False) as client:
            yield Wired(runtime, client, smtp_server, twilio, push)
        runtime.close()
