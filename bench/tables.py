"""Large tables stay fast: list, filter and get envelopes among N seeded ones (issue [scale] 5).

Run (PostgreSQL on 127.0.0.1:5432, trust auth)::

    PYTHONPATH=src .venv/bin/python bench/tables.py --envelopes 1000000 --keep
    PYTHONPATH=src .venv/bin/python bench/tables.py --keep      # 10,000,000 (default)

It creates a fresh database (``medsign_bench_tables_<N>``), migrates it with
:func:`medsign.db.migrate.upgrade`, seeds N envelopes straight in SQL
(bench/tables_seed.py), then calls the real API (the FastAPI app on the seeded
database, through Starlette's TestClient: routing, token check, branch scope, the
listing service, serialization) with randomized parameters per call and prints
p50/p95/p99 in ms for each query shape against the 50 ms target. For each shape it
also prints ``EXPLAIN (ANALYZE, BUFFERS)`` of the SQL the service issued and whether
the plan reads the big tables through indexes only (a Seq Scan on documents,
envelopes, signers or patients is a FAIL). ``--keep`` keeps the seeded database for the
next run (which then skips seeding); ``--reseed`` drops it first. Exit status 1 when a
p99 misses the target or a plan scans a big table.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import event, select

from medsign.db.migrate import upgrade
from medsign.organizations.models import ApiToken
from medsign.organizations.service import create_token, issue_token
from medsign.runtime import Runtime
from medsign.settings import Settings
from medsign.web.app import create_app

sys.path.insert(0, str(Path(__file__).parent))
from tables_seed import BIG_TABLES, SMALL_ORGS, seed

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_MS = 50.0
BYTES_PER_ENVELOPE = 2000  # measured: 1.6 KB per envelope with its rows and indexes
STATUSES = ("sent", "completed", "declined", "expired", "voided")
KINDS = ("user_agreement", "contract", "informed_consent", "invoice", "act", "medical_record")


def say(line: str) -> None:
    """Print at once (progress of a long run)."""
    print(line, flush=True)


def org_id(oi: int) -> str:
    """The seeded id of organization number ``oi`` (0-2 large, 3.. small)."""
    return _md5_uuid(f"o{oi}")


def branch_id(oi: int, n: int) -> str:
    """The seeded id of branch ``n`` of organization ``oi``."""
    return _md5_uuid(f"b{oi}-{n}")


def _md5_uuid(text: str) -> str:
    import hashlib
    import uuid

    return str(uuid.UUID(hashlib.md5(text.encode()).hexdigest()))  # noqa: S324 - ids, not security


# --- database ------------------------------------------------------------------------


def prepare(n: int, name: str, reseed: bool, batch: int) -> str:
    """A seeded database of ``n`` envelopes named ``name`` (seeded now unless kept)."""
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and reseed:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if exists:
            comment = admin.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                (name,),
            ).fetchone()
            meta = json.loads(comment[0]) if comment and comment[0] else {}
            if meta.get("envelopes") == n:
                say(f"kept database {name}: {n:,} envelopes, seeded in {meta['seconds']:.0f} s")
                return url
            say(f"database {name} is incomplete or of another size: seeding it again")
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        check_disk(admin, n)
        admin.execute(f'CREATE DATABASE "{name}"')
    upgrade(url.replace("postgresql://", "postgresql+psycopg://"))
    say(f"seeding {n:,} envelopes into {name} (batches of {batch:,})")
    with psycopg.connect(url, autocommit=True) as conn:
        seconds = seed(conn, n, batch, say)
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        meta = json.dumps({"envelopes": n, "seconds": round(seconds, 1)})
        admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{meta}'")
    say(f"seeded in {seconds:.0f} s")
    return url


def check_disk(admin: psycopg.Connection[tuple[Any, ...]], n: int) -> None:
    """Refuse to start when the data directory's disk cannot hold the seeded tables."""
    try:
        row = admin.execute("SHOW data_directory").fetchone()
        where = Path(str(row[0])) if row else Path("/var/lib/postgresql")
    except psycopg.Error:
        where = Path("/var/lib/postgresql")
    probe = where if where.exists() else Path("/var/lib/postgresql")
    free = shutil.disk_usage(probe if probe.exists() else "/").free
    need = n * BYTES_PER_ENVELOPE * 2  # the tables plus WAL and index builds on the way
    say(f"disk: {free / 2**30:.1f} GiB free, about {need / 2**30:.1f} GiB needed")
    if free < need:
        raise SystemExit("not enough disk space for this many envelopes")


def sizes(url: str) -> list[tuple[str, int, int]]:
    """(table, rows, bytes with indexes) of the big tables, and the whole database."""
    with psycopg.connect(url) as conn:
        out = []
        for table in BIG_TABLES:
            row = conn.execute(
                "SELECT reltuples::bigint, pg_total_relation_size(oid) FROM pg_class "
                "WHERE oid = %s::regclass",
                (table,),
            ).fetchone()
            assert row is not None
            out.append((table, int(row[0]), int(row[1])))
        total = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        assert total is not None
        out.append(("(database)", 0, int(total[0])))
        return out


# --- the API on the seeded database ----------------------------------------------------


@dataclass
class Api:
    """The app on the seeded database, with tokens and the SQL it issues."""

    client: TestClient
    rt: Runtime
    large: dict[str, str]
    small: dict[str, str]
    branch: dict[str, str]
    captured: list[tuple[str, Any]]
    db_seconds: list[float]


@contextmanager
def api(url: str) -> Iterator[Api]:
    """Start the app on ``url`` with tokens for a large and a small organization and for
    one branch of the large one."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            database_url=url.replace("postgresql://", "postgresql+psycopg://"),
            public_url="http://bench.invalid",
            in_process_worker=False,
            secret_key=SecretStr("bench-tables-secret-key-0123456789abcdef"),
            api_rate_per_minute=10**9,
            _env_file=None,
        )
        rt = Runtime.build(settings)
        now = datetime.now(UTC)
        with rt.transaction() as session:
            for token in session.scalars(select(ApiToken).where(ApiToken.name.like("bench%"))):
                session.delete(token)
            session.flush()
            large = issue_token(session, rt.keyring, org_id(0), "bench", now=now)
            small = issue_token(session, rt.keyring, org_id(3 + SMALL_ORGS // 2), "bench", now=now)
            branch = create_token(
                session, rt.keyring, org_id(0), "bench-branch", now=now, branch_id=branch_id(0, 7)
            ).token
        captured: list[tuple[str, Any]] = []
        db_seconds = [0.0]  # time inside the database driver during the current call

        def before(_c: Any, _cur: Any, statement: str, params: Any, ctx: Any, _m: bool) -> None:
            captured.append((statement, params))
            ctx._bench_t0 = time.perf_counter()

        def after(_c: Any, _cur: Any, _s: str, _p: Any, ctx: Any, _m: bool) -> None:
            db_seconds[0] += time.perf_counter() - ctx._bench_t0

        event.listen(rt.engine, "before_cursor_execute", before)
        event.listen(rt.engine, "after_cursor_execute", after)
        app = create_app(runtime=rt, migrate=False)
        with TestClient(app) as client:
            yield Api(
                client,
                rt,
                {"Authorization": f"Bearer {large}"},
                {"Authorization": f"Bearer {small}"},
                {"Authorization": f"Bearer {branch}"},
                captured,
                db_seconds,
            )
        rt.close()


# --- query shapes -----------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """One kind of call: a name and how to make a random instance (path, headers)."""

    name: str
    make: Callable[[random.Random], tuple[str, dict[str, str]]]


def shapes(a: Api, url: str, n: int) -> list[Shape]:
    """The calls measured, each randomized per call."""
    with psycopg.connect(url) as conn:
        # Positions to resume from (what a client's cursor holds), and ids to get.
        def sample(where: str, args: tuple[Any, ...]) -> list[tuple[datetime, str]]:
            rows = conn.execute(
                "SELECT updated_at, id FROM envelopes TABLESAMPLE SYSTEM (1) REPEATABLE (7) "
                f"WHERE {where} LIMIT 2000",
                args,
            ).fetchall()
            assert rows, where
            return [(r[0], r[1]) for r in rows]

        large_pos = sample("organization_id = %s", (org_id(0),))
        small_pos = sample("organization_id = %s", (org_id(3 + SMALL_ORGS // 2),))
        branch_pos = sample("organization_id = %s AND branch_id = %s", (org_id(0), branch_id(0, 7)))
        counts: dict[int, int] = dict(
            conn.execute("SELECT oi, npatients FROM bench_orgs").fetchall()
        )
        patients, small_patients = int(counts[0]), int(counts[3 + SMALL_ORGS // 2])
    from medsign.pagination import encode_cursor

    def cursor(pos: list[tuple[datetime, str]], r: random.Random) -> str:
        at, ident = r.choice(pos)
        return encode_cursor(at.astimezone(UTC).isoformat(), ident)

    def iso(t: datetime) -> str:
        return t.astimezone(UTC).isoformat().replace("+00:00", "Z")

    def day(r: random.Random) -> datetime:
        return r.choice(large_pos)[0]

    lg, sm, br = a.large, a.small, a.branch
    base = "/api/v1/envelopes?limit=50"
    return [
        Shape("list oldest first, page 1", lambda r: (base, lg)),
        Shape("list newest first, page 1", lambda r: (base + "&order=desc", lg)),
        Shape(
            "list oldest first, deep page", lambda r: (f"{base}&cursor={cursor(large_pos, r)}", lg)
        ),
        Shape(
            "list newest first, deep page",
            lambda r: (f"{base}&order=desc&cursor={cursor(large_pos, r)}", lg),
        ),
        Shape("small org, newest first", lambda r: (base + "&order=desc", sm)),
        Shape("small org, deep page", lambda r: (f"{base}&cursor={cursor(small_pos, r)}", sm)),
        Shape("status", lambda r: (f"{base}&order=desc&status={r.choice(STATUSES)}", lg)),
        Shape(
            "status, deep page",
            lambda r: (f"{base}&status={r.choice(STATUSES)}&cursor={cursor(large_pos, r)}", lg),
        ),
        Shape("patient", lambda r: (f"{base}&patient_mis_id={100000 + r.randrange(patients)}", lg)),
        Shape(
            "patient, small org",
            lambda r: (f"{base}&patient_mis_id={100000 + r.randrange(small_patients)}", sm),
        ),
        Shape("kind", lambda r: (f"{base}&order=desc&kind={r.choice(KINDS)}", lg)),
        Shape(
            "updated_since (polling)",
            lambda r: (f"{base}&updated_since={iso(day(r))}", lg),
        ),
        Shape(
            "date range (1 day)",
            lambda r: (
                f"{base}&updated_since={iso(t := day(r))}"
                f"&updated_before={iso(t + timedelta(days=1))}",
                lg,
            ),
        ),
        Shape(
            "date range (30 days), newest first",
            lambda r: (
                f"{base}&order=desc&updated_since={iso(t := day(r))}"
                f"&updated_before={iso(t + timedelta(days=30))}",
                lg,
            ),
        ),
        Shape("branch token", lambda r: (base + "&order=desc", br)),
        Shape("branch token, deep page", lambda r: (f"{base}&cursor={cursor(branch_pos, r)}", br)),
        Shape(
            "branch_id filter (org token)",
            lambda r: (f"{base}&order=desc&branch_id={branch_id(0, r.randrange(25))}", lg),
        ),
        Shape(
            "status + branch token",
            lambda r: (f"{base}&order=desc&status={r.choice(STATUSES)}", br),
        ),
        Shape(
            "status + date range (7 days)",
            lambda r: (
                f"{base}&status={r.choice(STATUSES)}&updated_since={iso(t := day(r))}"
                f"&updated_before={iso(t + timedelta(days=7))}",
                lg,
            ),
        ),
        Shape(
            "status + kind",
            lambda r: (f"{base}&order=desc&status={r.choice(STATUSES)}&kind={r.choice(KINDS)}", lg),
        ),
        Shape(
            "patient + status",
            lambda r: (
                f"{base}&patient_mis_id={100000 + r.randrange(patients)}&status=completed",
                lg,
            ),
        ),
        Shape("get one", lambda r: (f"/api/v1/envelopes/{r.choice(large_pos)[1]}", lg)),
        Shape("(floor) GET /healthz", lambda r: ("/healthz", {})),
        Shape("get one, small org", lambda r: (f"/api/v1/envelopes/{r.choice(small_pos)[1]}", sm)),
    ]


def measure(a: Api, shape: Shape, calls: int, r: random.Random) -> tuple[list[float], list[float]]:
    """Milliseconds of ``calls`` random calls of ``shape`` (after 5 warm-up calls): the
    whole call, and the part spent in the database (SQL sent, rows received)."""
    total, db = [], []
    for i in range(calls + 5):
        path, headers = shape.make(r)
        a.db_seconds[0] = 0.0
        t0 = time.perf_counter()
        res = a.client.get(path, headers=headers)
        ms = (time.perf_counter() - t0) * 1000
        if res.status_code != 200:
            raise SystemExit(f"{shape.name}: {path} -> {res.status_code} {res.text[:300]}")
        if i >= 5:
            total.append(ms)
            db.append(a.db_seconds[0] * 1000)
    return total, db


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def explain(a: Api, url: str, shape: Shape, r: random.Random) -> tuple[bool, list[str]]:
    """EXPLAIN (ANALYZE, BUFFERS) of the SQL one call of ``shape`` issued: (uses indexes
    only on the big tables, plan lines)."""
    a.captured.clear()
    path, headers = shape.make(r)
    assert a.client.get(path, headers=headers).status_code == 200
    statements = [
        (sql, params)
        for sql, params in a.captured
        if any(f"FROM {t}" in sql or f"JOIN {t}" in sql for t in BIG_TABLES)
    ]
    lines: list[str] = [f"    GET {path}"]
    ok = True
    with psycopg.connect(url) as conn:
        for sql, params in statements:
            plan = [
                str(row[0])
                for row in conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params).fetchall()
            ]
            scans = [p for p in plan if "Seq Scan on" in p and any(t in p for t in BIG_TABLES)]
            ok = ok and not scans
            first = sql.split("\nFROM", 1)[0][:60].replace("\n", " ")
            lines.append(f"    -- {first}...")
            lines += ["      " + (p if len(p) <= 160 else p[:157] + "...") for p in plan]
    return ok, lines


def main() -> None:
    """Seed (or reuse), measure, print; exit 1 when a target is missed."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--envelopes", type=int, default=10_000_000)
    ap.add_argument("--calls", type=int, default=200, help="calls per query shape")
    ap.add_argument("--batch", type=int, default=1_000_000, help="envelopes per insert")
    ap.add_argument("--keep", action="store_true", help="keep the seeded database")
    ap.add_argument("--reseed", action="store_true", help="drop a kept database first")
    ap.add_argument("--seed-only", action="store_true")
    ap.add_argument("--no-explain", action="store_true")
    args = ap.parse_args()
    n = args.envelopes
    name = f"medsign_bench_tables_{n}"
    url = prepare(n, name, args.reseed, args.batch)
    for table, rows, size in sizes(url):
        say(f"  {table:<12} {rows:>12,} rows  {size / 2**30:7.2f} GiB with indexes")
    try:
        ok = args.seed_only or run(url, n, args.calls, not args.no_explain)
    finally:
        if not args.keep:
            with psycopg.connect(ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            say(f"dropped {name} (use --keep to keep it)")
    raise SystemExit(0 if ok else 1)


def run(url: str, n: int, calls: int, with_plans: bool) -> bool:
    """Measure every shape; print the table and the plans; True when all pass."""
    r = random.Random(20261204)
    ok = True
    with api(url) as a:
        all_shapes = shapes(a, url, n)
        say(f"\n{n:,} envelopes; {calls} random calls per shape through the API")
        say(f"target: p99 <= {TARGET_MS:.0f} ms")
        say("API: the whole call through the app; SQL: the part inside the database driver")
        say(
            f"{'shape':<36} {'API p50':>8} {'p95':>6} {'p99':>6} {'max':>6}"
            f"  {'SQL p50':>8} {'p95':>6} {'p99':>6}  result"
        )
        for shape in all_shapes:
            ms, db = measure(a, shape, calls, r)
            p99 = pct(ms, 99)
            verdict = "ok" if p99 <= TARGET_MS else "SLOW"
            ok = ok and p99 <= TARGET_MS
            say(
                f"{shape.name:<36} {statistics.median(ms):8.1f} {pct(ms, 95):6.1f} "
                f"{p99:6.1f} {max(ms):6.1f}  {statistics.median(db):8.1f} {pct(db, 95):6.1f} "
                f"{pct(db, 99):6.1f}  {verdict}"
            )
        if with_plans:
            say("\nplans (EXPLAIN ANALYZE, BUFFERS) of one call of each shape")
            for shape in all_shapes:
                indexed, lines = explain(a, url, shape, r)
                ok = ok and indexed
                verdict = "indexes only" if indexed else "FAIL: Seq Scan on a big table"
                say(f"\n== {shape.name}: {verdict}")
                say("\n".join(lines))
    return ok


if __name__ == "__main__":
    main()
