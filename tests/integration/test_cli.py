"""The ``medsign`` command: db upgrade, org create, and a separate worker process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from medsign.jobs.models import Job
from medsign.runtime import Runtime
from tests.support.api import create_envelope, new_org, upload
from tests.support.clock import FrozenClock
from tests.support.sms_gateway import SmsGateway

MEDSIGN = [sys.executable, "-m", "medsign.cli.main"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSIGN_")}
    env.update({"MEDSIGN_DATA_DIR": str(tmp_path / "data"), **extra})
    return env


def test_db_upgrade_and_org_create(tmp_path: Path) -> None:
    env = _env(tmp_path)
    up = subprocess.run([*MEDSIGN, "db", "upgrade"], env=env, capture_output=True, text=True)
    assert up.returncode == 0, up.stderr
    out = subprocess.run(
        [*MEDSIGN, "org", "create", "--name", "Клиника №1"], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    created = json.loads(out.stdout)
    assert set(created) == {"organization_id", "token"}
    assert created["token"].startswith("msk_")
    keys = tmp_path / "data" / "keys"
    assert (keys / "ca.cert.pem").exists()  # the development CA and the org's seal
    assert list((keys / "orgs" / created["organization_id"]).glob("seal*.cert.pem"))
    bad = subprocess.run(
        [*MEDSIGN, "org", "create", "--name", "  "], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 2 and "name" in bad.stderr and bad.stdout == ""
    missing = subprocess.run([*MEDSIGN, "org", "create"], env=env, capture_output=True, text=True)
    assert missing.returncode == 2 and "--name" in missing.stderr


def test_separate_worker_process_delivers(
    client: TestClient,
    rt: Runtime,
    clock: FrozenClock,
    sms_gateway: SmsGateway,
    tmp_path: Path,
    database_url: str,
) -> None:
    clock.now = datetime.now(UTC)  # the worker process runs on the real clock
    _, headers = new_org(rt)
    doc = upload(client, headers)
    create_envelope(client, headers, doc["id"])
    env = _env(
        tmp_path,
        MEDSIGN_DATABASE_URL=database_url,
        MEDSIGN_SMS_URL=sms_gateway.url,
        MEDSIGN_SECRET_KEY=rt.settings.secret_key.get_secret_value()
        if rt.settings.secret_key
        else "",
        MEDSIGN_WORKER_POLL_SECONDS="0.1",
    )
    worker = subprocess.Popen([*MEDSIGN, "worker"], env=env, stderr=subprocess.PIPE, text=True)
    statuses: list[str] = []
    try:
        sms_gateway.wait_for(timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with rt.transaction() as session:
                statuses = sorted(session.scalars(select(Job.status)))
            if statuses == ["done", "done"]:
                break
            time.sleep(0.1)
    finally:
        worker.terminate()
        _, err = worker.communicate(timeout=20)
    assert worker.returncode == 0, err
    assert "/s/" in sms_gateway.messages[0].text
    assert statuses == ["done", "done"]  # the invitation and the fan-out of envelope.sent
