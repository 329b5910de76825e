"""Migration 0019 goes up and down on SQLite and PostgreSQL (batch mode)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect

from medsign.db.migrate import alembic_config, upgrade
from tests.support.databases import migrated_database, postgres_url

TABLES = {
    "notification_settings",
    "notification_messages",
    "notification_deliveries",
    "push_subscriptions",
    "telegram_links",
}


@pytest.mark.parametrize("kind", ["sqlite"] + (["postgresql"] if postgres_url() else []))
def test_0019_up_down_up(kind: str, tmp_path: Path) -> None:
    with migrated_database(kind, tmp_path, "0015") as url:
        upgrade(url, "0019")
        engine = create_engine(url)
        try:
            assert set(inspect(engine).get_table_names()) >= TABLES
            command.downgrade(alembic_config(url), "0015")
            assert not TABLES & set(inspect(engine).get_table_names())
            upgrade(url, "0019")
            assert set(inspect(engine).get_table_names()) >= TABLES
        finally:
            engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite"] + (["postgresql"] if postgres_url() else []))
def test_0028_up_down_up(kind: str, tmp_path: Path) -> None:
    with migrated_database(kind, tmp_path, "0026") as url:
        upgrade(url, "0028")
        engine = create_engine(url)
        try:

            def columns() -> dict[str, bool]:
                cols = inspect(engine).get_columns("push_subscriptions")
                return {c["name"]: bool(c["nullable"]) for c in cols}

            assert columns()["organization_id"] and "session_id" in columns()
            link = {c["name"] for c in inspect(engine).get_columns("notification_messages")}
            assert "link" in link
            command.downgrade(alembic_config(url), "0026")
            assert not columns()["organization_id"] and "session_id" not in columns()
            upgrade(url, "0028")
            assert "session_id" in columns()
        finally:
            engine.dispose()
