"""``medsign audit verify|checkpoint``: broken links and rewritten histories are found."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from medsign.audit.checkpoints import AuditCheckpoint, make_checkpoint, verify_checkpoints
from medsign.audit.models import AuditEvent
from medsign.audit.service import GENESIS, event_hash, verify_chain
from medsign.runtime import Runtime
from tests.support.api import create_envelope, new_org, patient, upload

MEDSIGN = [sys.executable, "-m", "medsign.cli.main"]


def _run(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSIGN_")}
    env.update(
        {
            "MEDSIGN_DATA_DIR": str(tmp_path / "cli-data"),
            "MEDSIGN_DATABASE_URL": database_url,
            "MEDSIGN_SECRET_KEY": "cli-test-secret-0123456789abcdef-0123456789",
        }
    )
    return subprocess.run([*MEDSIGN, *args], env=env, capture_output=True, text=True, timeout=120)


def _lines(out: str) -> dict[str, dict[str, object]]:
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {str(r["organization_id"]): r for r in rows}


def _rewrite_history(rt: Runtime, org_id: str, seq: int) -> None:
    """What someone with the database would do: edit an event, recompute every hash."""
    with rt.transaction() as session:
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.organization_id == org_id, AuditEvent.seq == seq)
            .values(actor="someone-else")
        )
        prev = GENESIS
        for ev in session.scalars(
            select(AuditEvent).where(AuditEvent.organization_id == org_id).order_by(AuditEvent.seq)
        ):
            ev.prev_hash = prev
            ev.hash = event_hash(prev, ev.seq, ev.at, ev.action, ev.actor, ev.envelope_id, ev.data)
            prev = ev.hash


def test_audit_verify_command(
    client: TestClient, rt: Runtime, tmp_path: Path, database_url: str
) -> None:
    a, headers = new_org(rt, "A")
    b, _ = new_org(rt, "B")
    doc = upload(client, headers)
    create_envelope(client, headers, doc["id"], patient())

    ok = _run(tmp_path, database_url, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    rows = _lines(ok.stdout)
    assert rows[a]["intact"] is True and rows[b]["intact"] is True
    assert int(rows[a]["events"]) >= 3  # type: ignore[call-overload]

    cp = _run(tmp_path, database_url, "audit", "checkpoint")
    assert cp.returncode == 0, cp.stderr
    assert set(_lines(cp.stdout)) == {a, b}
    again = _run(tmp_path, database_url, "audit", "checkpoint")
    assert again.stdout == ""  # the heads did not move: nothing new to record

    with rt.transaction() as session:
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.organization_id == a, AuditEvent.seq == 2)
            .values(action="document.deleted")
        )
    bad = _run(tmp_path, database_url, "audit", "verify")
    assert bad.returncode == 1
    rows = _lines(bad.stdout)
    assert rows[a]["intact"] is False and rows[a]["first_broken_seq"] == 2
    assert rows[b]["intact"] is True
    only_b = _run(tmp_path, database_url, "audit", "verify", "--org", b)
    assert only_b.returncode == 0 and set(_lines(only_b.stdout)) == {b}
    missing = _run(tmp_path, database_url, "audit", "verify", "--org", "nope")
    assert missing.returncode == 2


def test_checkpoint_detects_a_recomputed_chain(
    client: TestClient, rt: Runtime, tmp_path: Path, database_url: str
) -> None:
    org, headers = new_org(rt)
    upload(client, headers)
    with rt.transaction() as session:
        cp = make_checkpoint(session, org, rt.seal_keys.timestamper(), now=rt.clock())
        assert cp is not None and cp.timestamp_token
        assert verify_checkpoints(session, org).intact
    _rewrite_history(rt, org, 1)
    with rt.transaction() as session:
        assert verify_chain(session, org).intact  # the links alone look fine ...
        report = verify_checkpoints(session, org)
        assert not report.intact and report.first_mismatch_seq == 2  # ... the checkpoint not
    # Rewriting the checkpoint too does not help: the TSA time-stamped the old head.
    with rt.transaction() as session:
        head = session.scalars(
            select(AuditEvent.hash).where(AuditEvent.organization_id == org, AuditEvent.seq == 2)
        ).one()
        session.execute(
            update(AuditCheckpoint)
            .where(AuditCheckpoint.organization_id == org)
            .values(head_hash=head)
        )
    with rt.transaction() as session:
        report = verify_checkpoints(session, org)
        assert not report.intact and report.detail == "the time-stamp covers another head"
    res = _run(tmp_path, database_url, "audit", "verify", "--org", org)
    assert res.returncode == 1
    assert _lines(res.stdout)[org]["checkpoint_mismatch_seq"] == 2
