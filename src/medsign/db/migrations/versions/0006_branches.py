"""branches: organization branches and branch-scoped tokens, documents, envelopes, webhooks

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import medsign.db.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Tables that get a nullable ``branch_id`` (None: the object belongs to the whole
# organization, which is what every existing row keeps).
SCOPED = ("api_tokens", "documents", "envelopes", "webhook_subscriptions")


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "branches",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", medsign.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_branches_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_branches")),
        sa.UniqueConstraint("organization_id", "name", name=op.f("uq_branches_organization_id")),
    )
    with op.batch_alter_table("branches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_branches_organization_id"), ["organization_id"], unique=False
        )
    for table in SCOPED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("branch_id", sa.String(length=36), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_branch_id"), ["branch_id"], unique=False)
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_branch_id_branches"), "branches", ["branch_id"], ["id"]
            )


def downgrade() -> None:
    """Revert."""
    for table in reversed(SCOPED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f"fk_{table}_branch_id_branches"), type_="foreignkey"
            )
            batch_op.drop_index(batch_op.f(f"ix_{table}_branch_id"))
            batch_op.drop_column("branch_id")
    with op.batch_alter_table("branches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_branches_organization_id"))
    op.drop_table("branches")
