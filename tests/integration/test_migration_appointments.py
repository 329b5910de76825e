"""Migration 0020 (appointments and notification rules): the migrated schema is what the
models declare, and it downgrades to 0019 and upgrades again, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from medsign.db.migrate import alembic_config
from medsign.db.models import Base
from tests.conftest import DB_KINDS
from tests.support.databases import migrated_database

TABLES = {
    "appointments",
    "notification_templates",
    "notification_rules",
    "notification_schedule",
    "notification_firings",
}
ORG_COLUMNS = {"time_zone", "quiet_start_minute", "quiet_end_minute", "notification_lang"}


def _ours(diff: object) -> bool:
    text = repr(diff)
    return any(t in text for t in TABLES) or any(c in text for c in ORG_COLUMNS)


@pytest.mark.parametrize("kind", DB_KINDS)
def test_schema_matches_models_and_round_trips(kind: str, tmp_path: Path) -> None:
    with migrated_database(kind, tmp_path) as url:
        engine = create_engine(url)
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert [d for d in diffs if _ours(d)] == []
        command.downgrade(alembic_config(url), "0019")
        assert TABLES.isdisjoint(inspect(engine).get_table_names())
        org_columns = {c["name"] for c in inspect(engine).get_columns("organizations")}
        assert ORG_COLUMNS.isdisjoint(org_columns)
        command.upgrade(alembic_config(url), "head")
        assert set(inspect(engine).get_table_names()) >= TABLES
        engine.dispose()
