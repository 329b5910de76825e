"""branding and document templates

``brandings``: per-organization logo, colours, sender name and custom domain;
``document_templates``: PDFs with form fields filled before sending;
``console_conversions``: console sends whose files a job converts.

Revision ID: 0026
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import medsign.db.base

revision = "0026"
down_revision = "0023"
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
    op.create_table(
        "document_templates",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("deleted_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_document_templates_organization_id_organizations",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_document_templates"),
    )
    op.create_index(
        "ix_document_templates_organization_id", "document_templates", ["organization_id"]
    )
    op.create_table(
        "console_conversions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("branch_id", sa.String(36), nullable=True),
        sa.Column("staff_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("form", sa.JSON(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("envelope_id", sa.String(36), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_console_conversions_organization_id_organizations",
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name="fk_console_conversions_branch_id_branches"
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_members.id"], name="fk_console_conversions_staff_id_staff_members"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_console_conversions"),
    )
    op.create_index(
        "ix_console_conversions_organization_id", "console_conversions", ["organization_id"]
    )


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_console_conversions_organization_id", "console_conversions")
    op.drop_table("console_conversions")
    op.drop_index("ix_document_templates_organization_id", "document_templates")
    op.drop_table("document_templates")
    op.drop_table("brandings")
