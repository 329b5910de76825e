"""Engine and session factory (built by the runtime, never at import time)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

READ_MOSTLY = "medsign_read_mostly"  # execution option: see Runtime.transaction(write=False)


def make_engine(url: str) -> Engine:
    """Create the engine; SQLite gets WAL, foreign keys and write-serializing transactions."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=8
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy's begin event issue BEGIN itself (pysqlite's own
            # transaction handling defers it and breaks SERIALIZABLE semantics).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # One writer at a time, taken at BEGIN: no lock upgrades that fail later.
            # A transaction opened for reading (READ_MOSTLY) begins deferred, so reads
            # never queue behind writers (WAL); should it write after all, SQLite upgrades
            # it or answers "busy", which the web layer retries (web/transient.py).
            read = conn.get_execution_options().get(READ_MOSTLY, False)
            conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

        return engine
    # Up to 30 connections a process: the web threads and the worker share them;
    # three processes stay under PostgreSQL's default max_connections of 100.
    return create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=10)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)
