"""Job pipeline benchmark: wake-up latency and throughput of the worker.

Run ``.venv/bin/python bench/pipeline.py [--database-url URL] [--jobs 200]``. On a
fresh database (SQLite in a temporary directory, or a new PostgreSQL database created
from ``--database-url`` and dropped afterwards) it prints:

- wake-up after commit: time from the commit of one job to its handler starting, with
  ``MEDSIGN_WORKER_POLL_SECONDS`` at 30 s (so polling cannot be what found it). From
  the worker's own runtime (the doorbell rung after commit) and, on PostgreSQL, from
  another runtime with its own engine, as another process would commit (only the
  NOTIFY reaches the worker);
- throughput: ``--jobs`` jobs whose handler waits 20 ms (a delivery's round trip), run
  by one worker with 1, 4 and 8 threads.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from medsign.db.migrate import upgrade
from medsign.jobs.outbox import JobCall, JobKind, enqueue
from medsign.jobs.running import Handler
from medsign.jobs.worker import Worker
from medsign.runtime import Runtime
from medsign.settings import Settings


class Timed:
    """A handler that records when each job started, by its payload's ``n``."""

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.started: dict[int, float] = {}
        self.done = 0
        self._lock = threading.Lock()
        self.event = threading.Event()

    def __call__(self, _rt: Runtime, call: JobCall) -> None:
        with self._lock:
            self.started[int(call.payload["n"])] = time.perf_counter()
        time.sleep(self.hold)
        with self._lock:
            self.done += 1
        self.event.set()

    def handlers(self) -> dict[str, Handler]:
        """This handler for every kind."""
        return {kind.value: self for kind in JobKind}


def _runtime(url: str, data: Path, poll: float) -> Runtime:
    settings = Settings(
        data_dir=data,
        database_url=url,
        worker_poll_seconds=poll,
        secret_key=SecretStr(secrets.token_hex(32)),
        _env_file=None,
    )
    return Runtime.build(settings)


def wake_up(url: str, data: Path, *, other_process: bool, rounds: int = 20) -> list[float]:
    """Milliseconds from commit to handler start, ``rounds`` times."""
    rt = _runtime(url, data, poll=30.0)
    committer = _runtime(url, data, poll=30.0) if other_process else rt
    timed = Timed(0.0)
    worker = Worker(rt, timed.handlers(), concurrency=2)
    worker.start()
    time.sleep(2.0)  # threads idle; LISTEN in effect
    out = []
    try:
        for n in range(rounds):
            with committer.transaction() as session:
                enqueue(session, JobKind.SEND_CODE, {"n": n}, now=committer.clock())
            committed = time.perf_counter()
            deadline = committed + 35
            while n not in timed.started and time.perf_counter() < deadline:
                time.sleep(0.0005)
            out.append((timed.started.get(n, deadline) - committed) * 1000)
            time.sleep(0.2)
    finally:
        worker.stop()
        if committer is not rt:
            committer.close()
        rt.close()
    return out


def throughput(url: str, data: Path, jobs: int, threads: int) -> float:
    """Jobs per second with ``threads`` threads and a 20 ms handler."""
    rt = _runtime(url, data, poll=0.05)
    timed = Timed(0.02)
    with rt.transaction() as session:
        for n in range(jobs):
            enqueue(session, JobKind.WEBHOOK, {"n": n}, now=rt.clock())
    worker = Worker(rt, timed.handlers(), concurrency=threads)
    began = time.perf_counter()
    worker.start()
    while timed.done < jobs:
        time.sleep(0.005)
    took = time.perf_counter() - began
    worker.stop()
    rt.close()
    return jobs / took


def main() -> None:
    """Parse arguments, run, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="PostgreSQL admin URL; default: SQLite")
    parser.add_argument("--jobs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        admin = None
        if args.database_url:
            admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
            name = f"medsign_bench_pipeline_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(args.database_url).set(database=name).render_as_string(False)
        else:
            url = f"sqlite:///{data / 'bench.sqlite3'}"
        try:
            upgrade(url)
            kind = make_url(url).get_backend_name()
            print(f"database: {kind}")
            cases = [("same process (after_commit)", False)]
            if kind == "postgresql":
                cases.append(("another runtime (NOTIFY/LISTEN)", True))
            for label, other in cases:
                ms = wake_up(url, data, other_process=other)
                print(
                    f"wake-up, {label}: median {statistics.median(ms):.1f} ms, "
                    f"max {max(ms):.1f} ms over {len(ms)} commits (poll 30 s)"
                )
            for threads in (1, 4, 8):
                rate = throughput(url, data, args.jobs, threads)
                print(f"throughput, {threads} threads, 20 ms jobs: {rate:.0f} jobs/s")
        finally:
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
