"""branding: per-organization logo, colours, sender name and custom domain

Revision ID: 0026
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import medsign.db.base

revision = "0026"
down_revision = "0022"
branch_labels = None
depends_on = None

_TS = medsign.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "brandings",
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("primary_color", sa.String(7), nullable=True),
        sa.Column("accent_color", sa.String(7), nullable=True),
        sa.Column("sender_name", sa.String(64), nullable=True),
        sa.Column("custom_domain", sa.String(253), nullable=True),
        sa.Column("logo_png", sa.LargeBinary(), nullable=True),
        sa.Column("logo_jpeg", sa.LargeBinary(), nullable=True),
        sa.Column("logo_width", sa.Integer(), nullable=False),
        sa.Column("logo_height", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_brandings_organization_id_organizations",
        ),
        sa.PrimaryKeyConstraint("organization_id", name="pk_brandings"),
        sa.UniqueConstraint("custom_domain", name="uq_brandings_custom_domain"),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("brandings")
