"""Migration 0017 (webauthn): the credential table matches its model, and it reverts
cleanly to 0016 and comes back."""

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

TABLE = "authenticator_credentials"


@pytest.fixture(params=DB_KINDS)
def at_head(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with migrated_database(request.param, tmp_path) as url:
        yield url


def test_the_table_matches_the_model_and_reverts(at_head: str) -> None:
    engine = create_engine(at_head)
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert [d for d in diffs if TABLE in repr(d)] == []
        foreign = {fk["referred_table"] for fk in inspect(engine).get_foreign_keys(TABLE)}
        assert foreign == {"clinician_devices", "organizations"}
        command.downgrade(alembic_config(at_head), "0016")
        assert TABLE not in set(inspect(engine).get_table_names())
        upgrade(at_head)
        assert TABLE in set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
