"""``medsign audit verify|checkpoint``: the log, old chains and rewritten histories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from medsign.audit.checkpoints import AuditCheckpoint
from medsign.audit.models import AuditEvent
from medsign.runtime import Runtime
from tests.support.api import create_envelope, new_org, patient, upload
from tests.support.audit import write_legacy_chain
from tests.support.cli import CliResult, run_cli


def _run(
    rt: Runtime, tmp_path: Path, database_url: str, *args: str, secret: str | None = None
) -> CliResult:
    assert rt.settings.secret_key is not None
    env = {
        "MEDSIGN_DATA_DIR": str(tmp_path / "cli-data"),
        "MEDSIGN_DATABASE_URL": database_url,
        "MEDSIGN_SECRET_KEY": secret or rt.settings.secret_key.get_secret_value(),
        "MEDSIGN_PUBLIC_URL": rt.settings.public_url,
    }
    return run_cli(env, *args)


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_audit_checkpoint_and_verify_commands(
    client: TestClient, rt: Runtime, tmp_path: Path, database_url: str
) -> None:
    a, headers = new_org(rt, "A")
    new_org(rt, "B")
    doc = upload(client, headers)
    create_envelope(client, headers, doc["id"], patient())

    cp = _run(rt, tmp_path, database_url, "audit", "checkpoint")
    assert cp.returncode == 0, cp.stderr
    assert _lines(cp.stdout) == [{"tree_size": 5, "checkpointed": True}]
    again = _run(rt, tmp_path, database_url, "audit", "checkpoint")
    assert _lines(again.stdout) == [{"tree_size": None, "checkpointed": False}]

    ok = _run(rt, tmp_path, database_url, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    (log,) = _lines(ok.stdout)
    assert log["intact"] is True and log["tree_size"] == 5 and log["checkpoints"] == 1

    with rt.transaction() as session:
        first = session.scalars(
            select(AuditEvent.id).where(AuditEvent.organization_id == a).order_by(AuditEvent.id)
        ).first()
        session.execute(
            update(AuditEvent).where(AuditEvent.id == first).values(action="document.deleted")
        )
    bad = _run(rt, tmp_path, database_url, "audit", "verify")
    assert bad.returncode == 1
    (log,) = _lines(bad.stdout)
    assert log["intact"] is False and log["problems"]
    missing = _run(rt, tmp_path, database_url, "audit", "verify", "--org", "nope")
    assert missing.returncode == 2


def test_checkpoints_signed_before_a_secret_rotation_verify_with_the_old_key(
    client: TestClient, rt: Runtime, tmp_path: Path, database_url: str
) -> None:
    _, headers = new_org(rt, "A")
    create_envelope(client, headers, upload(client, headers)["id"], patient())
    assert _run(rt, tmp_path, database_url, "audit", "checkpoint").returncode == 0
    new_secret = "rotated-" + "x" * 40
    new_org(rt, "B")  # events after the rotation, checkpointed with the new key
    assert (
        _run(rt, tmp_path, database_url, "audit", "checkpoint", secret=new_secret).returncode == 0
    )

    only_new = _run(rt, tmp_path, database_url, "audit", "verify", secret=new_secret)
    assert only_new.returncode == 1
    (log,) = _lines(only_new.stdout)
    assert log["checkpoints"] == 2 and any("signature" in p for p in log["problems"])

    old_key = rt.audit_log.key.verifier_key()
    both = _run(
        rt, tmp_path, database_url, "audit", "verify", "--previous-key", old_key, secret=new_secret
    )
    assert both.returncode == 0, both.stdout + both.stderr
    assert _lines(both.stdout)[0]["intact"] is True

    garbled = old_key[:-4] + "AAAA"
    bad = _run(rt, tmp_path, database_url, "audit", "verify", "--previous-key", garbled)
    assert bad.returncode == 2 and "--previous-key" in bad.stderr


def test_old_chains_are_still_checked(
    client: TestClient, rt: Runtime, tmp_path: Path, database_url: str
) -> None:
    """A database from the first release: its chains and their time-stamped checkpoints
    keep being verified, organization by organization."""
    a, _ = new_org(rt, "A")
    b, _ = new_org(rt, "B")
    write_legacy_chain(rt, a, 4)
    write_legacy_chain(rt, b, 3)
    ok = _run(rt, tmp_path, database_url, "audit", "verify")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    log, *chains = _lines(ok.stdout)
    assert log["unsequenced"] == 9
    assert {c["organization_id"]: (c["events"], c["intact"]) for c in chains} == {
        a: (4, True),
        b: (3, True),
    }
    # Rewriting a chain's checkpoint does not help: the TSA time-stamped the old head.
    with rt.transaction() as session:
        session.execute(
            update(AuditCheckpoint).where(AuditCheckpoint.organization_id == a).values(seq=2)
        )
    bad = _run(rt, tmp_path, database_url, "audit", "verify", "--org", a)
    assert bad.returncode == 1
    _, chain = _lines(bad.stdout)
    assert chain["organization_id"] == a and chain["checkpoint_mismatch_seq"] == 2
    only_b = _run(rt, tmp_path, database_url, "audit", "verify", "--org", b)
    assert only_b.returncode == 0
    assert [c["organization_id"] for c in _lines(only_b.stdout)[1:]] == [b]
