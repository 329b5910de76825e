"""The databases integration tests run on: SQLite always, PostgreSQL where it answers.

Each database is created empty and brought up by the real migrations once per test
session (never ``create_all``); after each test every table is emptied.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from medsign.db.base import Base
from medsign.db.migrate import upgrade

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str | None:
    """The admin URL of a PostgreSQL that answers, or None."""
    url = os.environ.get("MEDSIGN_TEST_DATABASE_URL", DEFAULT_PG)
    parsed = make_url(url)
    try:
        with socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 5432), 1):
            pass
    except OSError:
        return None
    return url


@contextmanager
def migrated_database(kind: str, tmp: Path, revision: str = "head") -> Iterator[str]:
    """Yield the URL of a fresh database of ``kind`` ('sqlite' or 'postgresql'), migrated
    to ``revision``."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'test.sqlite3'}"
        upgrade(url, revision)
        yield url
        return
    admin_url = postgres_url()
    assert admin_url is not None
    name = f"medsign_test_{uuid.uuid4().hex[:12]}"
    # pre-ping: the fault tests restart PostgreSQL while this engine is pooled
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url, revision)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def empty_all_tables(url: str) -> None:
    """Delete every row (keeps the migrated schema, alembic_version and seeded rows)."""
    engine = create_engine(url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))  # noqa: S608 - our own table names
        # Rows the migrations seed (as after `medsign db upgrade`).
        conn.execute(text("INSERT INTO audit_log_head (id, tree_size) VALUES (1, 0)"))
    engine.dispose()
