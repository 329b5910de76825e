"""usage: metered usage records and per-organization monthly plan limits

``usage_records`` is append-only (one row per counted event and metric, unique by
``(key, metric)`` so a retried job counts once); ``plan_limits`` holds optional
monthly limits (docs/integration.md "Usage and plan limits").

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "usage_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("branch_id", sa.String(36), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(40), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_usage_records_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_records")),
        sa.UniqueConstraint("key", "metric", name="uq_usage_records_key_metric"),
    )
    op.create_index("ix_usage_records_org_day", "usage_records", ["organization_id", "day"])
    op.create_table(
        "plan_limits",
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("metric", sa.String(40), nullable=False),
        sa.Column("monthly_limit", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_plan_limits_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "metric", name=op.f("pk_plan_limits")),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("plan_limits")
    op.drop_index("ix_usage_records_org_day", table_name="usage_records")
    op.drop_table("usage_records")
