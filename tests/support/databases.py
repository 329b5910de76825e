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

from sqlalchemy import Engine, create_engine, text
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
        try:
            yield url
        finally:
            forget_engine(url)
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
        forget_engine(url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


_EMPTYING_ENGINES: dict[str, Engine] = {}


def empty_all_tables(url: str) -> None:
    """Delete every row (keeps the migrated schema, alembic_version and seeded rows).

    ``DELETE`` child tables first rather than ``TRUNCATE ... CASCADE``: after a test most
    tables are empty or nearly so, and PostgreSQL's TRUNCATE makes new files for every
    table it names (about 150 ms for all of them, against 2 ms for the deletes). The engine
    is kept for the session; pre-ping because the fault tests restart PostgreSQL.
    """
    engine = _EMPTYING_ENGINES.get(url)
    if engine is None:
        engine = _EMPTYING_ENGINES[url] = create_engine(url, pool_pre_ping=True, pool_size=1)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    deletes = [f'DELETE FROM "{t}"' for t in tables]  # noqa: S608 - our own table names
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(";".join(deletes)))  # one round trip
        else:
            for delete in deletes:
                conn.execute(text(delete))
        # Rows the migrations seed (as after `medsign db upgrade`).
        conn.execute(text("INSERT INTO audit_log_head (id, tree_size) VALUES (1, 0)"))


def forget_engine(url: str) -> None:
    """Close the emptying engine of a database about to be dropped."""
    engine = _EMPTYING_ENGINES.pop(url, None)
    if engine is not None:
        engine.dispose()
