"""Migration 0029 (cabinet login through an identity provider): the tables match their
models, and it reverts cleanly to 0028 and comes back, on SQLite and PostgreSQL."""

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

TABLES = ("cabinet_identities", "idp_logins", "identity_providers", "cabinet_sessions")


@pytest.fixture(params=DB_KINDS)
def at_head(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with migrated_database(request.param, tmp_path) as url:
        yield url


def test_the_tables_match_the_models_and_revert(at_head: str) -> None:
    engine = create_engine(at_head)
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert [d for d in diffs if any(t in repr(d) for t in TABLES)] == []
        uniques = inspect(engine).get_unique_constraints("cabinet_identities")
        assert [u["column_names"] for u in uniques] == [["issuer", "subject"]]

        def columns(table: str) -> dict[str, bool]:
            return {c["name"]: bool(c["nullable"]) for c in inspect(engine).get_columns(table)}

        assert columns("idp_logins")["signer_id"] and "purpose" in columns("idp_logins")
        command.downgrade(alembic_config(at_head), "0028")
        assert "cabinet_identities" not in inspect(engine).get_table_names()
        assert not columns("idp_logins")["signer_id"]
        assert "cabinet_login" not in columns("identity_providers")
        assert "identity_provider_id" not in columns("cabinet_sessions")
        upgrade(at_head)
        assert "cabinet_identities" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
