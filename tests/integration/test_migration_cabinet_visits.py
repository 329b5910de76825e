"""Migration 0023 (the published schedule and telemedicine settings): the migrated schema
is what the models declare, and it downgrades and upgrades again, on SQLite and
PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from medsign.db.migrate import alembic_config
from medsign.db.models import Base
from tests.conftest import DB_KINDS
from tests.support.databases import migrated_database

TABLES = {
    "schedule_doctors",
    "schedule_services",
    "schedule_slots",
    "telemedicine_settings",
    "patient_invites",
    "record_requests",
    "record_settings",
}


def test_one_head_and_0023_on_its_chain() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    heads = script.get_heads()
    assert len(heads) == 1  # one linear chain (versions/README.md)
    chain = {rev.revision for rev in script.walk_revisions(base="base", head=heads[0])}
    assert {"0020", "0023"} <= chain


@pytest.mark.parametrize("kind", DB_KINDS)
def test_schema_matches_models_and_round_trips(kind: str, tmp_path: Path) -> None:
    with migrated_database(kind, tmp_path) as url:
        engine = create_engine(url)
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        ours = [d for d in diffs if any(t in repr(d) for t in TABLES)]
        # the provider's foreign key is named shorter than the convention (63 characters)
        assert [
            d for d in ours if "fk_telemedicine_settings_identity_provider" not in repr(d)
        ] == []
        command.downgrade(alembic_config(url), "0020")
        assert TABLES.isdisjoint(inspect(engine).get_table_names())
        command.upgrade(alembic_config(url), "head")
        assert set(inspect(engine).get_table_names()) >= TABLES
        engine.dispose()
