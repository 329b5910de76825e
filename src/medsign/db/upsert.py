"""``INSERT ... ON CONFLICT`` on both backends (PostgreSQL and SQLite >= 3.24 share the
syntax; SQLAlchemy has one construct per dialect)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def conflict_insert(session: Session, model: type[Any]) -> Any:
    """An INSERT into ``model``'s table that supports ``on_conflict_do_nothing`` and
    ``on_conflict_do_update`` on the session's backend."""
    table = cast(Table, model.__table__)
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
