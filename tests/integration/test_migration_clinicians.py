"""Migration 0016 (clinicians): the tables match the models, and it reverts cleanly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from medsign.db.base import Base
from medsign.db.migrate import alembic_config, upgrade
from medsign.db.models import __all__ as _all_models  # noqa: F401 - registers every model
from tests.conftest import DB_KINDS
from tests.support.databases import migrated_database

TABLES = {"clinicians", "clinician_enrollments", "clinician_devices", "device_requests"}


@pytest.fixture(params=DB_KINDS)
def at_head(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with migrated_database(request.param, tmp_path) as url:
        yield url


def test_tables_match_the_models_and_revert(at_head: str) -> None:
    engine = create_engine(at_head)
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        # Only this migration's objects: other areas' differences are theirs to judge.
        ours = [d for d in diffs if any(name in repr(d) for name in (*TABLES, "clinician_id"))]
        assert ours == []
        command.downgrade(alembic_config(at_head), "0015")
        names = set(inspect(engine).get_table_names())
        assert not names & TABLES
        assert "clinician_id" not in {c["name"] for c in inspect(engine).get_columns("signers")}
        upgrade(at_head)
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()
