"""The hot-folder agent end to end: ``medsign agent`` against a running ``medsign serve``.

Includes a restart mid-batch (kill -9 while it sends): nothing is sent twice, because the
agent keeps its state in the out folder and derives Idempotency-Keys from the content.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.pdfs import make_pdf
from tests.support.served import ServedStack, medsign_command

pytestmark = pytest.mark.e2e


def _agent(served: ServedStack, watch: Path, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSIGN_")}
    env.update(MEDSIGN_URL=served.app.url, MEDSIGN_TOKEN=served.app.token)
    return subprocess.Popen(
        [*medsign_command(), "agent", "--watch", str(watch), "--out", str(out), *extra],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _once(served: ServedStack, watch: Path, out: Path) -> None:
    proc = _agent(served, watch, out, "--once")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()


def _state(out: Path) -> list[tuple[str, str, str]]:
    path = out / ".medsign-agent.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        try:
            return db.execute("SELECT name, envelope_id, status FROM items").fetchall()
        except sqlite3.OperationalError:
            return []


def _drop(watch: Path, name: str, data: bytes, sidecar: dict[str, Any] | str) -> None:
    (watch / name).write_bytes(data)
    text = sidecar if isinstance(sidecar, str) else json.dumps(sidecar)
    (watch / name).with_suffix(".json").write_text(text, encoding="utf-8")


def test_hot_folder_sends_once_across_a_restart_and_collects_results(
    served: ServedStack, tmp_path: Path
) -> None:
    app = served.app
    watch, out = tmp_path / "in", tmp_path / "out"
    watch.mkdir()
    start = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    seal = {"role": "clinic", "name": "Clinic", "method": "seal"}
    for n in range(3):
        _drop(
            watch,
            f"record-{n}.pdf",
            make_pdf(text=f"Record {n}"),
            {"signers": [seal], "kind": "medical_record", "title": f"agent record {n}"},
        )
    _drop(
        watch,
        "agreement.pdf",
        make_pdf(text="Agreement"),
        {"to": "+79990001122", "name": "Patient B", "kind": "user_agreement"},
    )
    _drop(watch, "broken.pdf", b"hello, not a pdf", {"to": "+79990001122", "name": "X"})
    _drop(watch, "nosidecar.pdf", make_pdf(), "{not json")
    (watch / "later.pdf").write_bytes(make_pdf())  # no sidecar yet: left alone

    # A running agent killed -9 mid-batch, then started again.
    proc = _agent(served, watch, out, "--interval", "0.2")
    deadline = time.monotonic() + 30
    while not _state(out) and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert proc.stderr is not None
    proc.stderr.close()
    _once(served, watch, out)

    sent = _state(out)
    assert sorted(r[0] for r in sent) == [
        "agreement.pdf",
        "record-0.pdf",
        "record-1.pdf",
        "record-2.pdf",
    ]
    res = app.http.get(
        "/api/v1/envelopes", headers=app.headers, params={"updated_since": start, "limit": 200}
    )
    assert sorted(e["id"] for e in res.json()["items"]) == sorted(r[1] for r in sent)
    assert (watch / "later.pdf").exists()
    assert sorted(p.name for p in (out / "sent").iterdir() if p.suffix == ".pdf") == [
        "agreement.pdf",
        "record-0.pdf",
        "record-1.pdf",
        "record-2.pdf",
    ]
    reason = (out / "errors" / "broken.pdf.reason.txt").read_text()
    assert "refused" in reason
    assert "bad sidecar" in (out / "errors" / "nosidecar.pdf.reason.txt").read_text()

    # The clinic seals record-0 and the agreement is voided; the agent collects both.
    ids = {name: env_id for name, env_id, _ in sent}
    env = app.envelope(ids["record-0.pdf"])
    res = app.http.post(
        f"/api/v1/envelopes/{env['id']}/signers/{env['signers'][0]['id']}/seal",
        headers=app.headers,
        json={"staff_name": "Registrar"},
    )
    assert res.status_code == 200, res.text
    app.wait_for_envelope(env["id"], "completed")
    app.void(ids["agreement.pdf"], "patient left")
    _once(served, watch, out)
    signed = out / "record-0.signed.pdf"
    assert signed.read_bytes().startswith(b"%PDF")
    evidence = json.loads((out / "record-0.evidence.json").read_text())
    assert evidence["status"] == "completed"
    assert "voided: patient left" in (out / "errors" / "agreement.pdf.reason.txt").read_text()
    states = {name: status for name, _, status in _state(out)}
    assert states == {
        "record-0.pdf": "done",
        "record-1.pdf": "sent",
        "record-2.pdf": "sent",
        "agreement.pdf": "failed",
    }
