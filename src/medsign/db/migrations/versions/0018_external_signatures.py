"""external: remote signing services (CSC API) of an organization

``csc_services``: a trust service provider's Cloud Signature Consortium endpoint, how to
authenticate to it, and its access token or OAuth client secret encrypted with a key
derived from the deployment secret (docs/external-signatures.md). Uploaded external
signatures need no table of their own: they are envelope versions, evidence and audit.

Revision ID: 0018
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import medsign.db.base

revision = "0018"
down_revision = "0022"
branch_labels = None
depends_on = None

_TS = medsign.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "csc_services",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("base_url", sa.String(500), nullable=False),
        sa.Column("api_version", sa.String(4), nullable=False),
        sa.Column("auth", sa.String(10), nullable=False),
        sa.Column("client_id", sa.String(200), nullable=True),
        sa.Column("secret_enc", sa.Text(), nullable=True),
        sa.Column("info", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_csc_services_organization_id_organizations",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_csc_services"),
    )
    op.create_index("ix_csc_services_organization_id", "csc_services", ["organization_id"])


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_csc_services_organization_id", table_name="csc_services")
    op.drop_table("csc_services")
