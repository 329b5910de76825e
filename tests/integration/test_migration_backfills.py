"""Migrations that backfill existing rows (in batches on PostgreSQL): 0011, 0012."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from medsign.db.migrate import upgrade
from tests.conftest import DB_KINDS
from tests.support.databases import migrated_database

ROWS = """
INSERT INTO organizations (id, name, created_at) VALUES ('o', 'O', '2026-01-01 00:00:00');
INSERT INTO documents (id, organization_id, title, kind, sha256, pages, size, created_at)
VALUES ('d1', 'o', 't', 'contract', 'h', 1, 1, '2026-01-01 00:00:00'),
       ('d2', 'o', 't', 'user_agreement', 'h', 1, 1, '2026-01-01 00:00:00');
INSERT INTO envelopes (id, organization_id, document_id, status, expires_at, current_sha256,
                       version, created_at, updated_at)
VALUES ('e1', 'o', 'd1', 'sent', '2026-02-01 00:00:00', 'h', 0, '2026-01-01 00:00:00',
        '2026-01-01 00:00:00'),
       ('e2', 'o', 'd2', 'sent', '2026-02-01 00:00:00', 'h', 0, '2026-01-01 00:00:00',
        '2026-01-01 00:00:00'),
       ('e3', 'o', 'd1', 'sent', '2026-02-01 00:00:00', 'h', 0, '2026-01-01 00:00:00',
        '2026-01-01 00:00:00');
"""


@pytest.mark.parametrize("kind", DB_KINDS)
def test_envelopes_get_their_documents_kind(kind: str, tmp_path: Path) -> None:
    with migrated_database(kind, tmp_path, revision="0010") as url:
        engine = create_engine(url)
        with engine.begin() as conn:
            for statement in ROWS.split(";"):
                if statement.strip():
                    conn.execute(text(statement))
        upgrade(url)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, kind FROM envelopes")).all()
            kinds = {str(row[0]): str(row[1]) for row in rows}
        engine.dispose()
    assert kinds == {"e1": "contract", "e2": "user_agreement", "e3": "contract"}


EVENTS_AND_JOBS = """
INSERT INTO organizations (id, name, created_at) VALUES ('o', 'O', '2026-01-01 00:00:00');
INSERT INTO events (event_id, organization_id, envelope_id, type, data, created_at)
VALUES ('evt_1', 'o', NULL, 'envelope.sent', '{}', '2026-01-01 00:00:00'),
       ('evt_2', 'o', NULL, 'envelope.signed', '{}', '2026-01-01 00:01:00');
INSERT INTO jobs (id, kind, payload, status, attempts, run_after, created_at)
VALUES ('j1', 'send_code', '{}', 'queued', 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00'),
       ('j2', 'seal', '{}', 'done', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00');
"""


@pytest.mark.parametrize("kind", DB_KINDS)
def test_old_events_count_as_fanned_out_and_queued_jobs_get_priorities(
    kind: str, tmp_path: Path
) -> None:
    """Migration 0012: events written before it were fanned out when written (they must
    not be delivered again); jobs still to run are claimed by their kind's priority."""
    with migrated_database(kind, tmp_path, revision="0011") as url:
        engine = create_engine(url)
        with engine.begin() as conn:
            for statement in EVENTS_AND_JOBS.split(";"):
                if statement.strip():
                    conn.execute(text(statement))
        upgrade(url)
        with engine.connect() as conn:
            pending = conn.execute(
                text("SELECT count(*) FROM events WHERE fanned_out_at IS NULL")
            ).scalar()
            rows = conn.execute(text("SELECT id, priority FROM jobs")).all()
        engine.dispose()
    assert pending == 0
    assert {str(r[0]): int(r[1]) for r in rows} == {"j1": 0, "j2": 3}
