"""Migration 0031 (registered seals): the migrated table is what the model
declares, and it downgrades and upgrades again, on SQLite and PostgreSQL."""

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


@pytest.mark.parametrize("kind", DB_KINDS)
def test_registered_seals_match_the_model_and_round_trip(kind: str, tmp_path: Path) -> None:
    with migrated_database(kind, tmp_path) as url:
        engine = create_engine(url)
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert [d for d in diffs if "registered_seals" in repr(d)] == []
        indexes = {i["name"] for i in inspect(engine).get_indexes("registered_seals")}
        assert {"ix_registered_seals_sha256", "ix_registered_seals_organization_id"} <= indexes
        command.downgrade(alembic_config(url), "0030")
        assert "registered_seals" not in inspect(engine).get_table_names()
        command.upgrade(alembic_config(url), "head")
        assert "registered_seals" in inspect(engine).get_table_names()
        engine.dispose()
