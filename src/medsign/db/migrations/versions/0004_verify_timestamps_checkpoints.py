"""verify timestamps checkpoints: signers' verification codes, audit chain checkpoints

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("signers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verification_code", sa.String(length=9), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_signers_verification_code"), ["verification_code"], unique=False
        )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timestamp_token", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_audit_checkpoints_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
        sa.UniqueConstraint(
            "organization_id", "seq", name=op.f("uq_audit_checkpoints_organization_id")
        ),
    )
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_checkpoints_organization_id"), ["organization_id"], unique=False
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_checkpoints_organization_id"))
    op.drop_table("audit_checkpoints")
    with op.batch_alter_table("signers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signers_verification_code"))
        batch_op.drop_column("verification_code")
