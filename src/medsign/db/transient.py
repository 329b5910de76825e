"""Which database errors are passing conditions rather than bugs.

Two kinds, told apart by SQLSTATE (PostgreSQL, Appendix A "Error Codes") or by the
driver's exception class:

- ``RETRY``: the transaction lost a race and was rolled back whole — a serialization
  failure (40001), a deadlock victim (40P01), a lock not available (55P03), SQLite's
  "database is locked" after its busy timeout. Running the same work again is safe.
- ``UNAVAILABLE``: the database cannot be reached or has no connection to give (server
  down or restarting: class 08, 57P01-57P03 admin/crash shutdown, "cannot connect now";
  the pool's own timeout). The caller should answer 503 with ``Retry-After``.
"""

from __future__ import annotations

from enum import Enum

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

_RETRY_STATES = {"40001", "40P01", "55P03"}
_UNAVAILABLE_STATES = {"57P01", "57P02", "57P03", "53300"}  # shutdowns, too many clients


class Transient(Enum):
    """What to do about a transient database error."""

    RETRY = "retry"
    UNAVAILABLE = "unavailable"


def classify(exc: BaseException) -> Transient | None:
    """``RETRY``, ``UNAVAILABLE`` or None (not a transient database error)."""
    if isinstance(exc, PoolTimeout):
        return Transient.UNAVAILABLE
    if not isinstance(exc, DBAPIError):
        return None
    if exc.connection_invalidated:
        return Transient.UNAVAILABLE
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(state, str):
        if state in _RETRY_STATES:
            return Transient.RETRY
        if state in _UNAVAILABLE_STATES or state.startswith("08"):
            return Transient.UNAVAILABLE
        return None
    module = type(orig).__module__
    message = str(orig).lower()
    if module.startswith("sqlite3") and ("locked" in message or "busy" in message):
        return Transient.RETRY
    if module.startswith("sqlite3") and "unable to open" in message:
        return Transient.UNAVAILABLE  # the file's disk or directory is gone
    if module.startswith("psycopg") and type(orig).__name__ == "OperationalError":
        return Transient.UNAVAILABLE  # no SQLSTATE: the connection itself failed
    return None
