"""kill -9 of a real ``medsign worker`` in the middle of a webhook delivery: the
delivery is taken again after the lease and arrives, under the same webhook-id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from medsign.runtime import Runtime
from medsign.webhooks.models import WebhookDelivery
from tests.support.api import create_envelope, new_org, upload
from tests.support.clock import FrozenClock
from tests.support.webhook_receiver import WebhookReceiver

MEDSIGN = [sys.executable, "-m", "medsign.cli.main", "worker"]


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(MEDSIGN, env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait(predicate: object, timeout: float, what: str) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_kill_9_mid_delivery_loses_nothing(
    client: TestClient, rt: Runtime, clock: FrozenClock, tmp_path: Path, database_url: str
) -> None:
    clock.now = datetime.now(UTC)  # the worker processes run on the real clock
    rt.settings.webhook_allow_private = True
    _, headers = new_org(rt)
    with WebhookReceiver() as receiver:
        hook = client.post(
            "/api/v1/webhooks", headers=headers, json={"url": receiver.url, "events": ["*"]}
        )
        assert hook.status_code == 201, hook.text
        receiver.secrets.append(hook.json()["secret"])
        receiver.hang_seconds = 30.0  # the first attempt hangs: the worker is mid-delivery
        doc = upload(client, headers)
        env_id = create_envelope(client, headers, doc["id"])["id"]

        secret = rt.settings.secret_key
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSIGN_")}
        env.update(
            MEDSIGN_DATA_DIR=str(tmp_path / "worker-data"),
            MEDSIGN_DATABASE_URL=database_url,
            MEDSIGN_SECRET_KEY=secret.get_secret_value() if secret else "",
            MEDSIGN_WEBHOOK_ALLOW_PRIVATE="true",
            MEDSIGN_WEBHOOK_TIMEOUT_SECONDS="60",
            MEDSIGN_WORKER_LEASE_SECONDS="2",
            MEDSIGN_WORKER_POLL_SECONDS="0.1",
        )
        log = tmp_path / "worker.log"
        first = _worker(env, log)
        try:
            _wait(lambda: receiver.requests >= 1, 30, "the first delivery attempt")
        finally:
            first.send_signal(signal.SIGKILL)  # kill -9 while the request hangs
            first.wait(10)
        assert receiver.unique == []  # nothing was accepted before the kill
        receiver.hang_seconds = 0.0

        second = _worker(env, log)
        try:
            (got,) = receiver.wait_for(1, timeout=30)
        except TimeoutError as exc:
            raise AssertionError(log.read_text(errors="replace")[-4000:]) from exc
        finally:
            second.terminate()
            second.wait(20)
        assert got.type == "envelope.sent" and got.envelope_id == env_id
        assert {r.webhook_id for r in receiver.all} == {
            got.webhook_id
        }  # one id, however many tries
        with rt.transaction() as session:
            deliveries = session.scalars(select(WebhookDelivery)).all()
        assert [d.event_id for d in deliveries] == [got.webhook_id]
