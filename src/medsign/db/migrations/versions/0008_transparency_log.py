"""audit: a Merkle transparency log instead of one locked hash chain per organization

Events get a ``leaf_index`` from the sequencer instead of a ``seq`` taken under a lock
on the organization row (which serialized every write of an organization and
deadlocked against the KEY SHARE locks of inserts referencing it). The chain columns
stay, nullable, so the events written before this revision remain verifiable; the
sequencer folds those events into the tree too (oldest first), so from the first
checkpoint on they are covered by the log as well.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leaf_index", sa.BigInteger(), nullable=True))
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.create_unique_constraint("uq_audit_events_leaf_index", ["leaf_index"])
    op.create_index(
        "ix_audit_events_unsequenced",
        "audit_events",
        ["id"],
        postgresql_where=sa.text("leaf_index IS NULL"),
        sqlite_where=sa.text("leaf_index IS NULL"),
    )
    op.create_table(
        "audit_tree_nodes",
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("index", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "index", name="pk_audit_tree_nodes"),
    )
    head = op.create_table(
        "audit_log_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log_head"),
    )
    op.bulk_insert(head, [{"id": 1, "tree_size": 0, "updated_at": None}])
    op.create_table(
        "audit_log_checkpoints",
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("timestamp_token", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("tree_size", name="pk_audit_log_checkpoints"),
    )
    op.create_index("ix_audit_log_checkpoints_created_at", "audit_log_checkpoints", ["created_at"])


def downgrade() -> None:
    """Revert (events appended since keep no chain link: refuse rather than lose them)."""
    bind = op.get_bind()
    unchained = bind.execute(sa.text("SELECT count(*) FROM audit_events WHERE seq IS NULL"))
    if unchained.scalar():
        raise RuntimeError("audit events without a chain link exist; cannot downgrade")
    op.drop_index("ix_audit_log_checkpoints_created_at", table_name="audit_log_checkpoints")
    op.drop_table("audit_log_checkpoints")
    op.drop_table("audit_log_head")
    op.drop_table("audit_tree_nodes")
    op.drop_index("ix_audit_events_unsequenced", table_name="audit_events")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint("uq_audit_events_leaf_index", type_="unique")
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("leaf_index")
