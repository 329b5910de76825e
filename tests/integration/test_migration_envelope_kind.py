"""Migration 0011 copies each envelope's document kind (in batches on PostgreSQL)."""

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
