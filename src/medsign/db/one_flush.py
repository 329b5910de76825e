"""Writing a transaction's bookkeeping rows at once instead of one flush each.

``record`` (audit), ``emit`` (events) and ``enqueue`` (jobs) add their row and flush
the session, so a caller that reads the row back (or its id) sees it at once. A hot
path that adds a dozen such rows and reads none of them back (a device approval: audit
events, webhook events, the jobs of completion) pays an ORM flush, with one INSERT and
its RETURNING, for each. Inside :func:`one_flush` they hand their row to
:func:`insert_later` instead; when the block ends, the ORM's own changes are flushed
once and the rows of each table are written with one executemany INSERT, in the order
they were added (so ids keep that order). Queries inside the block still autoflush the
ORM's changes as usual.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import DeclarativeBase, Session

_DEPTH = "medsign.flush_deferred"  # session.info: depth of one_flush blocks
_ROWS = "medsign.rows_deferred"  # session.info: [(table, row)] to insert at the end


@contextmanager
def one_flush(session: Session) -> Iterator[Session]:
    """Defer the per-row flushes of ``record``/``emit``/``enqueue`` to the end of the
    block: one ORM flush, then one INSERT per table (nothing on an error: the
    transaction rolls back then)."""
    depth = session.info.get(_DEPTH, 0)
    session.info[_DEPTH] = depth + 1
    try:
        yield session
    except BaseException:
        if depth == 0:
            session.info.pop(_ROWS, None)
        raise
    finally:
        session.info[_DEPTH] = depth
    if depth == 0:
        session.flush()
        _insert_rows(session, session.info.pop(_ROWS, []))


def flush_deferred(session: Session) -> bool:
    """True inside :func:`one_flush`."""
    return bool(session.info.get(_DEPTH))


def insert_later(session: Session, obj: DeclarativeBase) -> bool:
    """Inside :func:`one_flush`: keep ``obj``'s row to insert when the block ends and
    return True (``obj`` itself never enters the session: its id stays unset). Outside:
    False, and the caller adds it as usual."""
    if not flush_deferred(session):
        return False
    table = cast(Table, obj.__table__)
    row: dict[str, Any] = {}
    for column in table.columns:
        value = getattr(obj, column.key)
        defaulted = column.default is not None or column.server_default is not None
        if value is not None or not (defaulted or column.autoincrement is True):
            row[column.key] = value
    session.info.setdefault(_ROWS, []).append((table, row))
    return True


def _insert_rows(session: Session, rows: list[tuple[Table, dict[str, Any]]]) -> None:
    """One executemany INSERT per run of rows of one table with the same columns."""
    by_table: dict[Table, list[dict[str, Any]]] = {}
    for table, row in rows:
        by_table.setdefault(table, []).append(row)
    with session.no_autoflush:
        for table, table_rows in by_table.items():
            start = 0
            for end in range(1, len(table_rows) + 1):
                if end == len(table_rows) or table_rows[end].keys() != table_rows[start].keys():
                    session.execute(insert(table), table_rows[start:end])
                    start = end
