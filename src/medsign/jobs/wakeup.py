"""Waking workers when jobs were committed: one place, after commit.

:func:`medsign.jobs.outbox.enqueue` marks the session (``session.info``). Here,
SQLAlchemy session events turn that mark into wake-ups, once per transaction:

- before the commit, on PostgreSQL, the transaction issues ``NOTIFY medsign_jobs``
  (``pg_notify``); PostgreSQL delivers it only if and when the transaction commits
  (PostgreSQL documentation, "NOTIFY"), so workers in other processes, which LISTEN on
  a connection of their own (:class:`Listener`), wake at once;
- after the commit, the :class:`Doorbell` of this process rings (the in-process worker);
- after a rollback the mark is dropped: nothing was queued, nobody wakes.

Without a notification (SQLite, a lost connection) workers fall back to polling every
``MEDSIGN_WORKER_POLL_SECONDS``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from medsign.jobs.outbox import ENQUEUED

log = logging.getLogger("medsign.worker")
CHANNEL = "medsign_jobs"
_NOTIFIED = "medsign.jobs_notified"


class Doorbell:
    """A wake-up that no waiter misses: each ring bumps a counter; a waiter passes the
    counter it saw before looking for work and returns as soon as it moved (unlike a
    ``threading.Event``, which one waiter's ``clear()`` takes from the others)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._rings = 0

    def ring(self) -> None:
        """Wake every waiter."""
        with self._cond:
            self._rings += 1
            self._cond.notify_all()

    def seen(self) -> int:
        """The counter now; pass it to :meth:`wait` after looking for work."""
        with self._cond:
            return self._rings

    def wait(self, seen: int, timeout: float) -> bool:
        """Block until a ring after ``seen`` or ``timeout`` seconds; True if rung."""
        with self._cond:
            return self._cond.wait_for(lambda: self._rings != seen, timeout)


def install(sessions: sessionmaker[Session], doorbell: Doorbell, *, notify: bool) -> None:
    """Wake ``doorbell`` after every commit of a ``sessions`` transaction that queued
    jobs; with ``notify`` (PostgreSQL) also NOTIFY the other processes."""

    @event.listens_for(sessions, "before_commit")
    def _notify(session: Session) -> None:
        if notify and session.info.get(ENQUEUED) and not session.info.get(_NOTIFIED):
            session.info[_NOTIFIED] = True
            session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})

    @event.listens_for(sessions, "after_commit")
    def _wake(session: Session) -> None:
        session.info.pop(_NOTIFIED, None)
        if session.info.pop(ENQUEUED, False):
            doorbell.ring()

    @event.listens_for(sessions, "after_rollback")
    def _forget(session: Session) -> None:
        session.info.pop(_NOTIFIED, None)
        session.info.pop(ENQUEUED, None)


def libpq_url(sqlalchemy_url: str) -> str:
    """The libpq connection URI of a ``postgresql+psycopg://`` SQLAlchemy URL."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class Listener:
    """A thread that LISTENs on its own psycopg connection and rings ``doorbell`` on
    every notification; reconnects after errors (workers poll meanwhile)."""

    def __init__(self, database_url: str, doorbell: Doorbell, *, check_every: float = 1.0) -> None:
        self._conninfo = libpq_url(database_url)
        self._doorbell = doorbell
        self._check_every = check_every
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="medsign-listen", daemon=True)
        self.listening = threading.Event()  # set while LISTEN is in effect

    def start(self) -> None:
        """Start listening in a daemon thread."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (within ``check_every`` seconds)."""
        self._stopping.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._listen()
            except Exception as exc:  # a dropped connection: poll until it is back
                self.listening.clear()
                log.warning("LISTEN %s failed (%s); polling meanwhile", CHANNEL, exc)
                self._stopping.wait(5.0)

    def _listen(self) -> None:
        import psycopg

        with psycopg.connect(self._conninfo, autocommit=True) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            log.info("listening for jobs on %s", CHANNEL)
            self._doorbell.ring()  # jobs may have been committed while we were not listening
            while not self._stopping.is_set():
                notes: Any = conn.notifies(timeout=self._check_every)
                for _ in notes:
                    self._doorbell.ring()
