"""jobs: priority (and the index the claim query uses); events: fanned_out_at

Jobs are claimed in priority order, then by due time (docs/operations.md); a partial
index over the queued jobs serves that query. Events reach webhooks through one
fan-out job each; ``fanned_out_at`` records that an event's deliveries exist, so a
fan-out runs once and in event order. Events recorded before this revision were
fanned out when they were written.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import medsign.db.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

QUEUED = sa.text("status = 'queued'")
NOT_FANNED_OUT = sa.text("fanned_out_at IS NULL")


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="3"))
        batch_op.create_index(
            "ix_jobs_claim",
            ["priority", "run_after"],
            unique=False,
            postgresql_where=QUEUED,
            sqlite_where=QUEUED,
        )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fanned_out_at", medsign.db.base.UTCDateTime(timezone=True), nullable=True)
        )
    _mark_events_fanned_out()
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_fan_out",
            ["organization_id", "id"],
            unique=False,
            postgresql_where=NOT_FANNED_OUT,
            sqlite_where=NOT_FANNED_OUT,
        )
    # Only jobs still to run need their priority; finished ones keep the default.
    op.execute(
        "UPDATE jobs SET priority = CASE kind WHEN 'send_code' THEN 0 WHEN 'invite' THEN 1 "
        "WHEN 'seal' THEN 2 WHEN 'evidence' THEN 4 ELSE 3 END "
        "WHERE status IN ('queued', 'running')"
    )


BATCH = 50_000  # events marked per transaction on PostgreSQL


def _mark_events_fanned_out() -> None:
    """Events recorded before this revision were fanned out already. On PostgreSQL in
    batches of their own transactions, so a large ``events`` table is never locked whole
    (the same lesson as migration 0011); the partial index is built afterwards, so the
    rows never enter it."""
    if op.get_bind().dialect.name != "postgresql":
        op.execute("UPDATE events SET fanned_out_at = created_at")
        return
    bind = op.get_bind()
    with op.get_context().autocommit_block():
        while bind.execute(
            sa.text(
                "UPDATE events SET fanned_out_at = created_at WHERE id IN "
                "(SELECT id FROM events WHERE fanned_out_at IS NULL LIMIT :batch)"
            ),
            {"batch": BATCH},
        ).rowcount:
            pass


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_fan_out")
        batch_op.drop_column("fanned_out_at")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_claim")
        batch_op.drop_column("priority")
