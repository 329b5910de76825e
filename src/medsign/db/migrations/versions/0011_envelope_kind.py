"""envelopes: the document's kind on the envelope, with an index for the kind filter

A document's kind never changes, so the envelope keeps a copy: listing envelopes by kind
(``GET /api/v1/envelopes?kind=``) walks ``(organization_id, kind, updated_at, id)``
instead of joining every envelope of the organization to its document (at 10 million
envelopes that filter missed p99 50 ms; bench/tables.py). On PostgreSQL the backfill
goes in batches of its own transactions and the index is built CONCURRENTLY, so the
upgrade does not stop signing on a large database.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

INDEX = "ix_envelopes_org_kind_updated"
COLUMNS = ["organization_id", "kind", "updated_at", "id"]


BATCH = 50_000  # envelopes backfilled per transaction on PostgreSQL


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("envelopes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=40), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        _backfill_in_batches()
        op.execute("ALTER TABLE envelopes ALTER COLUMN kind SET NOT NULL")
        with op.get_context().autocommit_block():
            # A CONCURRENTLY build that failed leaves an INVALID index behind: rebuild it.
            op.drop_index(INDEX, postgresql_concurrently=True, if_exists=True)
            op.create_index(INDEX, "envelopes", COLUMNS, postgresql_concurrently=True)
        return
    op.execute(
        "UPDATE envelopes SET kind = "
        "(SELECT documents.kind FROM documents WHERE documents.id = envelopes.document_id)"
    )
    with op.batch_alter_table("envelopes", schema=None) as batch_op:
        batch_op.alter_column("kind", existing_type=sa.String(length=40), nullable=False)
    op.create_index(INDEX, "envelopes", COLUMNS)


def _backfill_in_batches() -> None:
    """Copy the kinds ``BATCH`` envelopes at a time, each batch its own transaction, so a
    large table is never locked whole: one statement over 10 million envelopes held
    every row for more than eleven minutes (bench/tables.py database), blocking signing.
    """
    bind = op.get_bind()
    with op.get_context().autocommit_block():
        while True:
            done = bind.execute(
                sa.text(
                    "UPDATE envelopes SET kind = documents.kind FROM documents "
                    "WHERE documents.id = envelopes.document_id AND envelopes.id IN "
                    "(SELECT id FROM envelopes WHERE kind IS NULL LIMIT :batch)"
                ),
                {"batch": BATCH},
            ).rowcount
            if not done:
                return


def downgrade() -> None:
    """Revert."""
    op.drop_index(INDEX, table_name="envelopes")
    with op.batch_alter_table("envelopes", schema=None) as batch_op:
        batch_op.drop_column("kind")
