"""Migration 0008 on a database of the first release: its hash chains stay verifiable
and join the Merkle log; downgrading refuses to drop events that have no chain link."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from pydantic import SecretStr
from sqlalchemy import create_engine, text

from medsign.audit.sequencer import sequence_pending
from medsign.audit.service import GENESIS, event_hash, record, verify_chain
from medsign.db.migrate import alembic_config, upgrade
from medsign.runtime import Runtime
from medsign.settings import Settings
from tests.conftest import DB_KINDS
from tests.support.audit import verify
from tests.support.databases import migrated_database


@pytest.fixture(params=DB_KINDS)
def at_0007(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database migrated to 0007 (before the log)."""
    with migrated_database(str(request.param), tmp_path, revision="0007") as url:
        yield url


def test_old_chains_survive_the_upgrade(at_0007: str, tmp_path: Path, keys_dir: Path) -> None:
    engine = create_engine(at_0007)
    at = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    prev = GENESIS
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO organizations (id, name, created_at) VALUES ('o1', 'Old', :at)"),
            {"at": at.replace(tzinfo=None) if engine.dialect.name == "sqlite" else at},
        )
        for seq in range(1, 4):
            data = {"n": seq}
            h = event_hash(prev, seq, at, "old.event", "system", None, data)
            conn.execute(
                text(
                    "INSERT INTO audit_events (organization_id, seq, at, action, actor, "
                    "envelope_id, data, prev_hash, hash) VALUES ('o1', :seq, :at, "
                    "'old.event', 'system', NULL, :data, :prev, :hash)"
                ),
                {
                    "seq": seq,
                    "at": at.replace(tzinfo=None) if engine.dialect.name == "sqlite" else at,
                    "data": json.dumps(data),
                    "prev": prev,
                    "hash": h,
                },
            )
            prev = h
    engine.dispose()
    upgrade(at_0007)
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=at_0007,
        in_process_worker=False,
        secret_key=SecretStr("test-secret-key-0123456789abcdef-0123456789"),
        _env_file=None,
    )
    rt = Runtime.build(settings)
    rt.seal_keys.root = keys_dir
    try:
        with rt.transaction() as session:
            assert verify_chain(session, "o1").intact
            assert verify_chain(session, "o1").events == 3
            record(session, "o1", "new.event", at=rt.clock(), actor="system")
        assert sequence_pending(rt) == 4
        report = verify(rt)
        assert report.intact and report.tree_size == 4
        with pytest.raises(RuntimeError, match="without a chain link"):
            command.downgrade(alembic_config(at_0007), "0007")
    finally:
        rt.close()
