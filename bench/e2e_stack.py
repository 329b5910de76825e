"""The medsign processes the load test drives: a fresh database, ``medsign serve`` and,
on PostgreSQL, separate web and worker processes when the installed CLI has the options.

The database is created and migrated by the tests' own helper (a fresh SQLite file or
a fresh PostgreSQL database, dropped at the end); the organization is created by the
real CLI (``medsign org create``). Every process gets SIGTERM at the end, then SIGKILL.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
from sqlalchemy import create_engine, text

from tests.support.databases import migrated_database
from tests.support.ports import free_port
from tests.support.served import create_org, medsign_command

START_TIMEOUT = 60.0  # seconds until /healthz answers 200
STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL
# The API's per-token rate limit (600/min by default) would make every figure a
# measure of the limiter; the load test lifts it.
UNLIMITED_RATE = "100000000"


@dataclass(frozen=True)
class CliOptions:
    """Which scale-out options the installed ``medsign`` offers."""

    serve_workers: bool
    serve_no_worker: bool
    worker_concurrency: bool


def detect_cli() -> CliOptions:
    """Read ``medsign serve --help`` and ``medsign worker --help``."""

    def help_text(*args: str) -> str:
        done = subprocess.run(
            [*medsign_command(), *args, "--help"], capture_output=True, timeout=60, check=False
        )
        return done.stdout.decode("utf-8", "replace")

    serve, worker = help_text("serve"), help_text("worker")
    return CliOptions(
        serve_workers="--workers" in serve,
        serve_no_worker="--no-worker" in serve,
        worker_concurrency="--concurrency" in worker,
    )


@dataclass
class Stack:
    """The running service: its URL, API token, processes and what was started."""

    database: str
    database_url: str
    url: str
    token: str
    layout: str  # e.g. "serve --workers 2 --no-worker + worker --concurrency 4"
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    log_files: list[Path] = field(default_factory=list)

    def log_text(self) -> str:
        """Everything the processes wrote so far."""
        return "\n".join(p.read_text("utf-8", "replace") for p in self.log_files if p.exists())

    def cpu_seconds(self) -> float:
        """User + system CPU of every process of the service and their children."""
        return sum(_tree_cpu(p.pid) for p in self.processes)

    def stop(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL); the database stays until the end."""
        for process in self.processes:
            _stop(process)

    def pids(self) -> list[int]:
        """The process ids (for ``py-spy dump --pid``)."""
        return [p.pid for p in self.processes]


def _tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its live descendants, from /proc (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            # proc(5): fields 14 and 15 (utime, stime); the split starts at field 3.
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                todo.extend(int(c) for c in children)
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
    return total


def pg_counters(database_url: str) -> dict[str, int]:
    """PostgreSQL's own counters for the database (pg_stat_database)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT xact_commit, xact_rollback, deadlocks, tup_inserted, tup_updated, "
                    "tup_deleted, tup_returned + tup_fetched FROM pg_stat_database "
                    "WHERE datname = current_database()"
                )
            ).one()
    finally:
        engine.dispose()
    names = ("commits", "rollbacks", "deadlocks", "inserted", "updated", "deleted", "read")
    return {name: int(value) for name, value in zip(names, row, strict=True)}


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


def _wait_healthy(url: str, processes: list[subprocess.Popen[bytes]], logs: list[Path]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        for process in processes:
            if process.poll() is not None:
                tail = "\n".join(p.read_text("utf-8", "replace")[-3000:] for p in logs)
                raise RuntimeError(f"a medsign process exited with {process.returncode}\n{tail}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"medsign did not answer /healthz within {START_TIMEOUT} s")
        time.sleep(0.2)


def _commands(
    database: str, port: int, cli: CliOptions, web_workers: int, worker_concurrency: int
) -> tuple[list[list[str]], str, bool]:
    """The command lines to start, a description, and whether the web process keeps its
    in-process worker."""
    serve = [*medsign_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if database == "sqlite" or not (cli.serve_workers and cli.serve_no_worker):
        note = "serve (in-process worker)"
        if database != "sqlite":
            note += "; this medsign has no `serve --workers/--no-worker`: plain serve"
        return [serve], note, True
    serve += ["--workers", str(web_workers), "--no-worker"]
    worker = [*medsign_command(), "worker"]
    if cli.worker_concurrency:
        worker += ["--concurrency", str(worker_concurrency)]
    note = f"serve --workers {web_workers} --no-worker + {' '.join(worker[1:])}"
    return [serve, worker], note, False


@contextmanager
def served(
    database: str,
    tmp: Path,
    sms_url: str,
    cli: CliOptions,
    *,
    web_workers: int = 2,
    worker_concurrency: int = 4,
) -> Iterator[Stack]:
    """A fresh ``database`` ('sqlite' or 'postgresql') and medsign serving on it."""
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with migrated_database(database, tmp) as database_url, ExitStack() as stack:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSIGN_")}
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                "MEDSIGN_DATA_DIR": str(tmp / "data"),
                "MEDSIGN_DATABASE_URL": database_url,
                "MEDSIGN_PUBLIC_URL": url,
                "MEDSIGN_SECRET_KEY": secrets.token_hex(32),
                "MEDSIGN_SMS_URL": sms_url,
                "MEDSIGN_API_RATE_PER_MINUTE": UNLIMITED_RATE,
            }
        )
        _org_id, token = create_org("Bench clinic", env=env, cwd=tmp)
        commands, layout, in_process = _commands(
            database, port, cli, web_workers, worker_concurrency
        )
        if not in_process:
            env["MEDSIGN_IN_PROCESS_WORKER"] = "false"
        result = Stack(database, database_url, url, token, layout)
        for n, command in enumerate(commands):
            log_file = tmp / f"medsign-{n}.log"
            log: IO[bytes] = stack.enter_context(log_file.open("wb"))
            process = subprocess.Popen(
                command,
                env=env,
                cwd=tmp,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            stack.callback(_stop, process)
            result.processes.append(process)
            result.log_files.append(log_file)
        _wait_healthy(url, result.processes, result.log_files)
        yield result
