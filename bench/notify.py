"""Scheduled reminders at scale: generate, fire and dispatch N reminders to a loopback
SMS gateway, and show that the rule scan costs O(due), not O(scheduled).

Run (PostgreSQL on 127.0.0.1:5432, trust auth; SQLite with ``--db sqlite``)::

    PYTHONPATH=src .venv/bin/python bench/notify.py                  # 1,000,000 reminders
    PYTHONPATH=src .venv/bin/python bench/notify.py --count 5000     # a short run
    PYTHONPATH=src .venv/bin/python bench/notify.py --count 5000 --idle 10000,1000000

Each run gets a fresh database (dropped afterwards unless ``--keep``), migrated with the
real migrations. It seeds patients and ``--count`` appointments straight in SQL, creates
an ``appointment.before`` rule through the service (the schedule job fills its
``--count`` rows: *generate*), moves the frozen clock past the due time and then runs,
side by side, scanners (``fire_due`` in a loop: *fire*, which renders and hands each
message to the notification queue) and the real worker with the ``notify`` handler
(``--concurrency`` threads: *dispatch*) against an asyncio gateway on loopback
(bench/e2e_gateway.py). It prints each phase's rate and the end-to-end rate against the
2,000 messages/s target, then the scan test: with ``--idle`` rows scheduled far in the
future, the time of one scan that finds nothing due and of one that fires a batch
among them (and, on PostgreSQL, the plan of the scan query: an index scan on
``due_at``).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import create_engine, func, insert, select, text

from medsign.appointments.models import Appointment
from medsign.db.migrate import upgrade
from medsign.jobs.handlers import build_handlers
from medsign.jobs.worker import Worker, run_one
from medsign.notify.models import NotificationMessage
from medsign.notify.sms_http import close_shared_client, shared_client
from medsign.organizations.models import Organization
from medsign.organizations.service import create_organization
from medsign.patients.models import Patient
from medsign.reminders.models import ScheduledNotification
from medsign.reminders.scan import fire_due
from medsign.reminders.schemas import RuleIn
from medsign.reminders.service import create_rule
from medsign.runtime import Runtime
from medsign.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from e2e_gateway import AsyncSmsGateway

ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGET = 2000.0  # messages/s
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
APPOINTMENT_AT = START + timedelta(days=2)
CHUNK = 10_000


def say(line: str) -> None:
    """Print at once (progress of a long run)."""
    print(line, flush=True)


class Clock:
    """A clock the bench sets (the scan compares due times with it)."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def database(kind: str, tmp: Path, keep: bool) -> Iterator[str]:
    """A fresh migrated database of ``kind``."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'bench.sqlite3'}"
        upgrade(url)
        yield url
        return
    name = f"medsign_bench_notify_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            say(f"kept database {name}")
        admin.dispose()


def seed(rt: Runtime, org_id: str, count: int, patients: int) -> None:
    """``patients`` patients with phones and ``count`` appointments among them."""
    now = rt.clock()
    pids = [str(uuid.uuid4()) for _ in range(patients)]
    with rt.transaction() as session:
        session.execute(
            insert(Patient),
            [
                {
                    "id": pid,
                    "organization_id": org_id,
                    "mis_id": f"P{i}",
                    "name": f"Patient {i}",
                    "phone": f"+7999{i:07d}",
                    "created_at": now,
                    "updated_at": now,
                }
                for i, pid in enumerate(pids)
            ],
        )
    for first in range(0, count, CHUNK):
        rows: list[dict[str, Any]] = [
            {
                "id": str(uuid.uuid4()),
                "organization_id": org_id,
                "patient_id": pids[i % patients],
                "mis_id": f"A{i}",
                "starts_at": APPOINTMENT_AT + timedelta(seconds=i % 3600),
                "doctor": "Dr. Petrov",
                "service": "Consultation",
                "telemedicine": False,
                "status": "scheduled",
                "status_changed_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(first, min(first + CHUNK, count))
        ]
        with rt.transaction() as session:
            session.execute(insert(Appointment), rows)


def generate(rt: Runtime, org_id: str) -> tuple[str, float]:
    """Create the rule and schedule every appointment under it; (rule id, seconds)."""
    with rt.transaction() as session:
        rule = create_rule(
            session,
            org_id,
            RuleIn(event="appointment.before", offset_minutes=60, channels=["sms"]),
            now=rt.clock(),
        )
        rule_id = rule.id
    began = time.perf_counter()
    handlers = build_handlers(rt)
    while run_one(rt, handlers):  # the rule's ``schedule`` job fills its rows
        pass
    return rule_id, time.perf_counter() - began


def count_sent(rt: Runtime) -> int:
    """Messages the notification queue has handed to the gateway."""
    with rt.transaction(write=False) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(NotificationMessage)
                .where(NotificationMessage.status.in_(["sent", "delivered"]))
            )
            or 0
        )


def left_behind(rt: Runtime) -> str:
    """Messages not (yet) at a channel, counted by status and last error."""
    with rt.transaction(write=False) as session:
        rows = session.execute(
            select(NotificationMessage.status, NotificationMessage.last_error, func.count())
            .where(NotificationMessage.status.not_in(["sent", "delivered"]))
            .group_by(NotificationMessage.status, NotificationMessage.last_error)
        ).all()
    return "; ".join(f"{n} {status} ({error or '-'})" for status, error, n in rows) or "none"


def ceiling(gateway: AsyncSmsGateway, seconds: float, threads: int) -> tuple[float, float]:
    """The gateway's own accept rate from a bare loop over the same shared HTTP client
    the SMS sender uses, ``threads`` side by side, with nothing else around it (no
    database, no rendering): (messages/s, process CPU-seconds per 1,000)."""
    client = shared_client()
    stop = time.perf_counter() + seconds
    counts = [0] * threads

    def loop(n: int) -> None:
        while time.perf_counter() < stop:
            key = f"ceiling-{n}-{counts[n]}"
            body = {"id": key, "to": "+79990000000", "text": "Ceiling"}
            res = client.post(
                f"{gateway.url}/messages", json=body, headers={"Idempotency-Key": key}
            )
            res.raise_for_status()
            counts[n] += 1

    cpu, began = time.process_time(), time.perf_counter()
    workers = [threading.Thread(target=loop, args=(n,)) for n in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    total = sum(counts)
    return total / (time.perf_counter() - began), (time.process_time() - cpu) * 1000 / total


def fire_and_dispatch(
    rt: Runtime, gateway: AsyncSmsGateway, count: int, scanners: int, concurrency: int
) -> float:
    """Scanners and the worker side by side until the gateway has every message;
    returns the end-to-end rate (messages/s)."""
    rt.clock.now = APPOINTMENT_AT  # type: ignore[attr-defined]  # every reminder is due
    fired_at: list[float] = []
    before = gateway.accepted
    cpu, began = time.process_time(), time.perf_counter()

    def scan() -> None:
        while fire_due(rt, batch=500) > 0:
            pass
        fired_at.append(time.perf_counter())

    threads = [threading.Thread(target=scan) for _ in range(scanners)]
    for t in threads:
        t.start()
    worker = Worker(rt, build_handlers(rt), concurrency=concurrency, processes=0)
    worker.start(None)
    # Appointments start every second of an hour, over and over: those at the very
    # moment of the run (every 3,600th) are not reminded.
    expected = count - len(range(0, count, 3600))
    last, stall = 0, time.perf_counter()
    done, used = stall, 0.0
    while gateway.accepted - before < expected:
        time.sleep(0.1)
        if gateway.accepted != last:
            last, stall = gateway.accepted, time.perf_counter()
            done, used = stall, time.process_time() - cpu
        elif time.perf_counter() - stall > 20:
            say(f"stalled at {gateway.accepted - before} of {expected}: {left_behind(rt)}")
            break
    else:
        done, used = time.perf_counter(), time.process_time() - cpu
    for t in threads:
        t.join()
    worker.stop()
    sent = gateway.accepted - before
    fire_s = max(fired_at) - began
    total_s = done - began
    rate = sent / total_s
    say(
        f"fire:      {expected} reminders rendered and queued in {fire_s:.1f} s = "
        f"{expected / fire_s:,.0f}/s ({scanners} scanners, batches of 500)"
    )
    say(
        f"dispatch:  {sent} messages at the gateway in {total_s:.1f} s = "
        f"{rate:,.0f} messages/s end to end "
        f"(target {TARGET:,.0f}: {'PASS' if rate >= TARGET else 'MISS'}); "
        f"duplicates at the gateway: {gateway.duplicates}"
    )
    say(
        f"cpu:       {used * 1000 / max(sent, 1):.2f} CPU-seconds per 1,000 messages "
        f"(this process: fire, dispatch and the gateway; {used:.1f} s in all)"
    )
    say(f"           queue says sent: {count_sent(rt)}; left behind: {left_behind(rt)}")
    return rate


def scan_cost(rt: Runtime, rule_id: str, org_id: str, idle: int, kind: str) -> None:
    """Time of a scan with ``idle`` rows scheduled in the future: none due, then 500."""
    far = START + timedelta(days=365)
    with rt.transaction() as session:
        session.execute(text("DELETE FROM notification_schedule"))
    for first in range(0, idle, CHUNK):
        rows = [
            {
                "organization_id": org_id,
                "rule_id": rule_id,
                "target_id": str(uuid.uuid4()),
                "occurrence": "idle",
                "due_at": far + timedelta(seconds=i),
            }
            for i in range(first, min(first + CHUNK, idle))
        ]
        with rt.transaction() as session:
            session.execute(insert(ScheduledNotification), rows)
    if kind == "postgresql":
        with rt.transaction() as session:
            session.execute(text("ANALYZE notification_schedule"))
    rt.clock.now = APPOINTMENT_AT + timedelta(days=1)  # type: ignore[attr-defined]
    empty = []
    for _ in range(50):
        began = time.perf_counter()
        assert fire_due(rt, batch=500) == 0
        empty.append((time.perf_counter() - began) * 1000)
    plan = ""
    if kind == "postgresql":
        with rt.transaction() as session:
            lines = session.scalars(
                text(
                    "EXPLAIN SELECT id FROM notification_schedule WHERE due_at <= :now "
                    "ORDER BY due_at LIMIT 500 FOR UPDATE SKIP LOCKED"
                ),
                {"now": rt.clock()},
            ).all()
            plan = " | ".join(str(x).strip() for x in lines if "Scan" in str(x))
    say(
        f"scan with {idle:>9,} scheduled, none due: p50 {statistics.median(empty):.2f} ms, "
        f"max {max(empty):.2f} ms  {plan}"
    )


def main() -> None:
    """Parse arguments and run."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--scanners", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--idle", default="10000,1000000", help="scheduled-but-not-due rows")
    ap.add_argument("--ceiling-seconds", type=float, default=5.0)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="medsign-bench-notify-"))
    gateway = AsyncSmsGateway()
    gateway.start()
    try:
        with database(args.db, tmp, args.keep) as url:
            settings = Settings(
                data_dir=tmp / "data",
                database_url=url,
                sms_url=gateway.url,
                in_process_worker=False,
                secret_key=SecretStr("bench-secret-key-0123456789abcdef-0123456789"),
                worker_poll_seconds=0.05,
                _env_file=None,
            )
            rt = Runtime.build(settings, clock=Clock())
            with rt.transaction() as session:
                org_id = create_organization(
                    session, rt.keyring, "Bench", now=rt.clock()
                ).organization_id
                org = session.get(Organization, org_id)
                assert org is not None
                org.time_zone = "Europe/Moscow"
            patients = min(args.patients, args.count)
            began = time.perf_counter()
            seed(rt, org_id, args.count, patients)
            say(
                f"seed:      {args.count:,} appointments of {patients:,} patients in "
                f"{time.perf_counter() - began:.1f} s ({args.db})"
            )
            rule_id, gen_s = generate(rt, org_id)
            say(
                f"generate:  {args.count:,} reminders scheduled in {gen_s:.1f} s = "
                f"{args.count / gen_s:,.0f}/s"
            )
            top, top_cpu = ceiling(gateway, args.ceiling_seconds, args.concurrency)
            say(
                f"ceiling:   the gateway alone takes {top:,.0f} messages/s from a bare "
                f"httpx loop ({args.concurrency} threads, {top_cpu:.2f} CPU-s per 1,000)"
            )
            rate = fire_and_dispatch(rt, gateway, args.count, args.scanners, args.concurrency)
            say(f"ratio:     end to end / ceiling = {rate / top:.2f}")
            for idle in (int(x) for x in args.idle.split(",") if x.strip()):
                scan_cost(rt, rule_id, org_id, idle, args.db)
            rt.close()
    finally:
        close_shared_client()  # no keep-alive connection outlives the gateway's loop
        gateway.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
