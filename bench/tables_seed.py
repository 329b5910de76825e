"""Seed a migrated PostgreSQL database with N envelopes, straight in SQL (bench/tables.py).

Every row is computed inside the server from ``generate_series`` (nothing crosses the
wire, which beats COPY from a client), in batches with progress. For speed the four big
tables (patients, documents, envelopes, signers) lose their constraints and indexes and
are UNLOGGED during the load; afterwards they are made LOGGED again and every
constraint and index is recreated from the definitions the migrations gave them
(``pg_get_constraintdef``/``pg_get_indexdef``), then the tables are vacuumed and
analyzed. The result has exactly the migrated schema.

The data has the shape of a real installation:

* 1,000 organizations: three large ones (25 %, 15 % and 10 % of the envelopes, 25
  branches each) and 997 small ones (the other 50 %, 2 branches each); about one
  envelope in 26 (large) or 3 (small) belongs to no branch (the whole organization).
* one patient per four envelopes of an organization; MIS ids are plain numbers per
  organization, so the same ``patient_mis_id`` exists in many organizations (as it
  does when clinics number their patients).
* created over three years in order, ``updated_at`` up to three days later (sent ones
  not yet updated); statuses 70 % completed, 15 % sent, 5 % declined, 7 % expired, 3 %
  voided; twelve document kinds, skewed.
* one document per envelope; one patient signer per envelope and a clinic (seal)
  signer on three in ten.

Ids are deterministic (``md5(tag || i)`` as a UUID), so a run can name rows without
looking them up, and two seedings of the same N are identical.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg

BIG_TABLES = ("patients", "documents", "envelopes", "signers")
LARGE_SHARES = (0.25, 0.15, 0.10)
SMALL_ORGS = 997
START = "2024-01-01T00:00:00Z"
SPAN_DAYS = 1095

# Deterministic uniform [0, 1) of (row number, stream): PostgreSQL's own 64-bit hash.
FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION bench_u(i bigint, s bigint) RETURNS float8
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT (hashint8extended(i, s) & 281474976710655)::float8 / 281474976710656.0 $$;
CREATE OR REPLACE FUNCTION bench_uuid(tag text, i bigint) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT md5(tag || i)::uuid::text $$;
CREATE OR REPLACE FUNCTION bench_org_of(u float8) RETURNS int
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN u < 0.25 THEN 0 WHEN u < 0.40 THEN 1 WHEN u < 0.50 THEN 2
         ELSE 3 + least(floor((u - 0.5) * 2 * {SMALL_ORGS})::int, {SMALL_ORGS - 1}) END $$;
"""

# The attributes of envelopes lo..hi-1, shared by the three inserts below.
ROWS = f"""
WITH r AS (
  SELECT i, o.oi, o.id AS org_id,
         CASE WHEN b.n < o.nbranch THEN bench_uuid('b' || o.oi || '-', b.n) END AS branch_id,
         floor(bench_u(i, 3) * o.npatients)::int AS k,
         timestamptz '{START}' + (i::float8 / %(n)s) * interval '{SPAN_DAYS} days'
           + bench_u(i, 4) * interval '1 hour' AS created_at,
         bench_u(i, 5) AS us, bench_u(i, 6) AS ut, bench_u(i, 7) AS uk, bench_u(i, 8) AS uc
  FROM generate_series(%(lo)s::bigint, %(hi)s::bigint - 1) AS i
  JOIN bench_orgs o ON o.oi = bench_org_of(bench_u(i, 1))
  CROSS JOIN LATERAL (SELECT floor(bench_u(i, 2) * (o.nbranch + 1))::int AS n) b
), s AS (
  SELECT r.*,
         CASE WHEN us < 0.70 THEN 'completed' WHEN us < 0.85 THEN 'sent'
              WHEN us < 0.90 THEN 'declined' WHEN us < 0.97 THEN 'expired'
              ELSE 'voided' END AS status,
         CASE WHEN uk < 0.30 THEN 'user_agreement' WHEN uk < 0.48 THEN 'contract'
              WHEN uk < 0.60 THEN 'informed_consent' WHEN uk < 0.70 THEN 'invoice'
              WHEN uk < 0.78 THEN 'act' WHEN uk < 0.83 THEN 'medical_record'
              WHEN uk < 0.88 THEN 'prescription' WHEN uk < 0.91 THEN 'treatment_plan'
              WHEN uk < 0.94 THEN 'telemedicine_consent' WHEN uk < 0.96 THEN 'specification'
              WHEN uk < 0.98 THEN 'edo_agreement' ELSE 'other' END AS kind
  FROM r
)
SELECT s.*, CASE WHEN status = 'sent' THEN created_at
                 ELSE created_at + ut * interval '3 days' END AS updated_at
FROM s
"""

INSERT_DOCUMENTS = f"""
INSERT INTO documents (id, organization_id, branch_id, title, kind, sha256, pages, size,
                       source_name, created_at)
SELECT bench_uuid('d', i), org_id, branch_id, 'Document ' || i, kind,
       md5('h' || i) || md5('g' || i), 1 + mod(i, 7)::int, 40000 + mod(i, 900000)::int,
       'scan-' || i || '.pdf', created_at - interval '1 second'
FROM ({ROWS}) x
"""

INSERT_ENVELOPES = f"""
INSERT INTO envelopes (id, organization_id, branch_id, document_id, kind, status, expires_at,
                       current_sha256, version, void_reason, created_at, updated_at,
                       completed_at)
SELECT bench_uuid('e', i), org_id, branch_id, bench_uuid('d', i), kind, status,
       created_at + interval '30 days', md5('c' || i) || md5('f' || i),
       CASE WHEN status = 'completed' THEN 1 ELSE 0 END,
       CASE WHEN status = 'voided' THEN 'replaced' END, created_at, updated_at,
       CASE WHEN status = 'completed' THEN updated_at END
FROM ({ROWS}) x
"""

INSERT_SIGNERS = f"""
INSERT INTO signers (id, envelope_id, position, "order", role, name, phone, method,
                     patient_mis_id, lang, patient_id, reminders_sent, status,
                     link_version, link_hash, signed_at, declined_at)
SELECT bench_uuid('s', i), bench_uuid('e', i), 0, 1, 'patient', 'Patient ' || k,
       '+7900' || lpad(k::text, 7, '0'), 'sms_otp', (100000 + k)::text, 'ru',
       bench_uuid('p' || oi || '-', k), 0,
       CASE status WHEN 'completed' THEN 'signed' WHEN 'declined' THEN 'declined'
                   WHEN 'sent' THEN 'notified' ELSE 'cancelled' END,
       1, md5('l' || i) || md5('m' || i),
       CASE WHEN status = 'completed' THEN updated_at END,
       CASE WHEN status = 'declined' THEN updated_at END
FROM ({ROWS}) x
UNION ALL
SELECT bench_uuid('t', i), bench_uuid('e', i), 1, 2, 'clinic', 'Clinic', NULL, 'seal',
       NULL, 'ru', NULL, 0,
       CASE WHEN status = 'completed' THEN 'signed' WHEN status = 'sent' THEN 'waiting'
            ELSE 'cancelled' END,
       1, md5('L' || i) || md5('M' || i),
       CASE WHEN status = 'completed' THEN updated_at END, NULL
FROM ({ROWS}) x WHERE uc < 0.3
"""

ORGS = (
    "CREATE TABLE bench_orgs (oi int PRIMARY KEY, id text, nbranch int, npatients int)",
    f"""
INSERT INTO bench_orgs
SELECT oi, bench_uuid('o', oi), CASE WHEN oi < 3 THEN 25 ELSE 2 END,
       greatest(20, round(CASE WHEN oi < 3 THEN (ARRAY{list(LARGE_SHARES)})[oi + 1]
                               ELSE 0.5 / {SMALL_ORGS} END * %(n)s / 4))::int
FROM generate_series(0, {SMALL_ORGS + 2}) oi""",
    f"""
INSERT INTO organizations (id, name, created_at)
SELECT id, 'Clinic ' || oi, timestamptz '{START}' - interval '30 days' FROM bench_orgs""",
    f"""
INSERT INTO branches (id, organization_id, name, created_at)
SELECT bench_uuid('b' || oi || '-', n), id, 'Branch ' || n, timestamptz '{START}'
FROM bench_orgs, generate_series(0, nbranch - 1) n""",
)

INSERT_PATIENTS = f"""
INSERT INTO patients (id, organization_id, mis_id, name, birth_date, phone,
                      preferred_channel, created_at, updated_at)
SELECT bench_uuid('p' || oi || '-', k), id, (100000 + k)::text, 'Patient ' || k,
       date '1950-01-01' + mod(k * 37, 25000), '+7900' || lpad(k::text, 7, '0'), 'sms',
       timestamptz '{START}', timestamptz '{START}'
FROM bench_orgs, generate_series(0, npatients - 1) k
"""

CONSTRAINTS = """
SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype
FROM pg_constraint c
WHERE c.contype IN ('p', 'u', 'f')
  AND (c.conrelid = ANY(%(t)s::regclass[]) OR c.confrelid = ANY(%(t)s::regclass[]))
ORDER BY c.contype = 'f', c.conname
"""

INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i
WHERE i.indrelid = ANY(%(t)s::regclass[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY 1
"""

Say = Callable[[str], None]


def seed(conn: psycopg.Connection[tuple[object, ...]], n: int, batch: int, say: Say) -> float:
    """Load ``n`` envelopes with their organizations, branches, patients, documents and
    signers into the migrated, empty database on ``conn`` (autocommit); seconds taken."""
    started = time.perf_counter()
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute("SET synchronous_commit = off")
    conn.execute(FUNCTIONS)
    tables = list(BIG_TABLES)
    constraints = [
        (str(t), str(name), str(d), str(k))
        for t, name, d, k in conn.execute(CONSTRAINTS, {"t": tables}).fetchall()
    ]
    indexes = [(str(name), str(d)) for name, d in conn.execute(INDEXES, {"t": tables}).fetchall()]
    for table, name, _, _kind in sorted(constraints, key=lambda c: c[3] != "f"):
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    for table in tables:
        conn.execute(f"ALTER TABLE {table} SET UNLOGGED")
    for sql in ORGS:
        conn.execute(sql, {"n": n} if "%(n)s" in sql else None)
    _step(conn, say, "patients", INSERT_PATIENTS, {})
    for name, sql in (
        ("documents", INSERT_DOCUMENTS),
        ("envelopes", INSERT_ENVELOPES),
        ("signers", INSERT_SIGNERS),
    ):
        t0 = time.perf_counter()
        for lo in range(0, n, batch):
            hi = min(n, lo + batch)
            conn.execute(sql, {"lo": lo, "hi": hi, "n": n})
            rate = hi / max(time.perf_counter() - t0, 1e-9)
            say(f"  {name:<10} {hi:>11,} / {n:,} envelopes  ({rate:,.0f}/s)")
    for table in tables:
        _step(conn, say, f"{table} logged", f"ALTER TABLE {table} SET LOGGED", {})
    for table, name, definition, kind in constraints:
        if kind != "f":
            _step(conn, say, name, f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}', {})
    for name, definition in indexes:
        _step(conn, say, name, definition, {})
    for table, name, definition, kind in constraints:
        if kind == "f":
            _step(conn, say, name, f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}', {})
    for table in ("organizations", "branches", *tables):
        _step(conn, say, f"vacuum {table}", f"VACUUM (ANALYZE) {table}", {})
    return time.perf_counter() - started


def _step(
    conn: psycopg.Connection[tuple[object, ...]],
    say: Say,
    what: str,
    sql: str,
    params: dict[str, int],
) -> None:
    t0 = time.perf_counter()
    conn.execute(sql, params or None)
    say(f"  {what:<48} {time.perf_counter() - t0:7.1f} s")
