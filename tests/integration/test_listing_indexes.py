"""Each list query shape is answered from the index made for it (migration 0010).

On PostgreSQL, with a few thousand seeded envelopes, the SQL that
:mod:`medsign.listing.service` and :func:`medsign.envelopes.queries.load_envelope`
issue is EXPLAINed with sequential scans disabled; the plan must name the index the
shape relies on. Dropping or changing one of those indexes (or rewriting a query so it
can no longer use it, e.g. a cursor as ``a > x OR (a = x AND b > y)``) fails here.
bench/tables.py measures the same shapes on 10 million envelopes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from medsign.branches.scope import branch_scope
from medsign.envelopes.queries import load_envelope
from medsign.listing.service import list_documents, list_envelopes
from medsign.pagination import encode_cursor
from medsign.runtime import Runtime

ORG, OTHER, BRANCH = "org-a", "org-b", "branch-a"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
SEED = """
INSERT INTO organizations (id, name, created_at)
  VALUES ('org-a', 'A', now()), ('org-b', 'B', now());
INSERT INTO branches (id, organization_id, name, created_at)
  VALUES ('branch-a', 'org-a', 'A1', now()), ('branch-b', 'org-a', 'A2', now());
INSERT INTO documents (id, organization_id, branch_id, title, kind, sha256, pages, size,
                       created_at)
SELECT 'd' || i, CASE WHEN mod(i, 4) = 0 THEN 'org-b' ELSE 'org-a' END,
       CASE WHEN mod(i, 4) = 1 THEN 'branch-a' WHEN mod(i, 4) = 2 THEN 'branch-b' END,
       't', CASE WHEN mod(i, 3) = 0 THEN 'contract' ELSE 'user_agreement' END, 'h', 1, 1,
       timestamptz '2026-01-01' + i * interval '1 minute'
FROM generate_series(1, 4000) i;
INSERT INTO envelopes (id, organization_id, branch_id, document_id, kind, status, expires_at,
                       current_sha256, version, created_at, updated_at)
SELECT 'e' || i, organization_id, branch_id, id, kind,
       (ARRAY['sent', 'completed', 'declined', 'expired', 'voided'])[1 + mod(i, 5)],
       created_at + interval '30 days', 'h', 0, created_at, created_at
FROM (SELECT substr(id, 2)::int AS i, * FROM documents) d;
INSERT INTO signers (id, envelope_id, position, "order", role, name, method,
                     patient_mis_id, lang, status, link_version, link_hash, reminders_sent)
SELECT 's' || i, 'e' || i, 0, 1, 'patient', 'P', 'sms_otp', (1000 + mod(i, 900))::text, 'ru',
       'notified', 1, 'l' || i, 0
FROM generate_series(1, 4000) i;
INSERT INTO patients (id, organization_id, mis_id, name, created_at, updated_at)
SELECT 'p' || o || k, o, (1000 + k)::text, 'P', now(), now()
FROM unnest(ARRAY['org-a', 'org-b']) o, generate_series(0, 899) k;
UPDATE signers s SET patient_id = 'p' || e.organization_id || (s.patient_mis_id::int - 1000)
FROM envelopes e WHERE e.id = s.envelope_id AND mod(substr(s.id, 2)::int, 2) = 0;
ANALYZE organizations, branches, patients, documents, envelopes, signers;
"""

Call = Callable[[Session], object]
CURSOR = encode_cursor((T0 + timedelta(days=1)).isoformat(), "e1000")
SINCE, BEFORE = T0 + timedelta(hours=10), T0 + timedelta(hours=20)


def _envelopes(branch: str | None = None, **kw: Any) -> Call:
    def call(session: Session) -> object:
        with branch_scope(branch):
            return list_envelopes(session, ORG, limit=50, **kw)

    return call


def _documents(**kw: Any) -> Call:
    return lambda session: list_documents(session, ORG, limit=50, **kw)


# (shape, the call, the indexes its main query must use)
SHAPES: list[tuple[str, Call, str]] = [
    ("oldest first", _envelopes(), "ix_envelopes_org_updated"),
    ("newest first", _envelopes(newest_first=True), "ix_envelopes_org_updated"),
    ("deep page", _envelopes(cursor=CURSOR), "ix_envelopes_org_updated"),
    ("deep page newest", _envelopes(cursor=CURSOR, newest_first=True), "ix_envelopes_org_updated"),
    (
        "date range",
        _envelopes(updated_since=SINCE, updated_before=BEFORE),
        "ix_envelopes_org_updated",
    ),
    ("status", _envelopes(status="voided"), "ix_envelopes_org_status_updated"),
    ("kind", _envelopes(kind="contract"), "ix_envelopes_org_kind_updated"),
    ("status, deep", _envelopes(status="sent", cursor=CURSOR), "ix_envelopes_org_status_updated"),
    ("branch token", _envelopes(BRANCH), "ix_envelopes_org_branch_updated"),
    ("branch_id filter", _envelopes(branch_id=BRANCH), "ix_envelopes_org_branch_updated"),
    (
        "branch + status",
        _envelopes(BRANCH, status="sent", newest_first=True),
        "ix_envelopes_org_branch_status_updated",
    ),
    (
        "patient",
        _envelopes(patient_mis_id="1007"),
        "uq_patients_organization_id ix_signers_patient_id ix_signers_patient_mis_id",
    ),
    ("get one", lambda s: load_envelope(s, ORG, "e77"), "pk_envelopes"),
    ("documents", _documents(newest_first=True), "ix_documents_org_created"),
    ("documents, branch", _documents(branch_id=BRANCH), "ix_documents_org_branch_created"),
]


@contextmanager
def _captured(rt: Runtime) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, params: Any, _x: Any, _m: bool) -> None:
        seen.append((statement, params))

    event.listen(rt.engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(rt.engine, "before_cursor_execute", capture)


@pytest.fixture
def seeded(rt: Runtime) -> Runtime:
    """The runtime on a PostgreSQL database holding 4,000 analyzed envelopes."""
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("query plans are PostgreSQL's")
    with rt.engine.begin() as conn:
        conn.exec_driver_sql(SEED)
    return rt


@pytest.mark.parametrize(("shape", "call", "index"), SHAPES, ids=[s[0] for s in SHAPES])
def test_each_list_shape_uses_its_index(
    seeded: Runtime, shape: str, call: Call, index: str
) -> None:
    with _captured(seeded) as seen, seeded.transaction() as session:
        call(session)
    main = next(sql for sql, _ in seen if "FROM envelopes" in sql or "FROM documents" in sql)
    params = next(p for sql, p in seen if sql == main)
    with seeded.engine.begin() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            str(r[0]) for r in conn.exec_driver_sql(f"EXPLAIN {main}", params).fetchall()
        )
    for name in index.split():
        assert name in plan, f"{shape}: the plan does not use {name}:\n{plan}"
    for table in ("envelopes", "documents", "signers"):
        assert f"Seq Scan on {table}" not in plan, f"{shape}:\n{plan}"


def test_the_migration_creates_the_listing_indexes(seeded: Runtime) -> None:
    expected = {name for _, _, index in SHAPES for name in index.split()}
    with seeded.engine.connect() as conn:
        names = set(conn.execute(text("SELECT indexname FROM pg_indexes")).scalars())
    assert expected <= names, expected - names
    # the single-column ones are prefixes of the new indexes and went away
    assert not names & {"ix_envelopes_organization_id", "ix_documents_organization_id"}
