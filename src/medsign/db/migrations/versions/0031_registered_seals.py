"""registered seals: every seal certificate an organization uploaded, kept after replacement

One row per upload (docs/verification.md "Three kinds of trust"): the SHA-256 of the
certificate's DER, the DER itself, when it was registered and when a later upload
replaced it. Rows are never deleted, so PDFs sealed earlier keep verifying as a
registered seal of that organization.

Revision ID: 0031
Revises: 0030
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "registered_seals",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("certificate", sa.LargeBinary(), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("registered_at", TS, nullable=False),
        sa.Column("replaced_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_registered_seals_organization_id_organizations",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_registered_seals"),
    )
    op.create_index("ix_registered_seals_sha256", "registered_seals", ["sha256"])
    op.create_index("ix_registered_seals_organization_id", "registered_seals", ["organization_id"])


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_registered_seals_organization_id", table_name="registered_seals")
    op.drop_index("ix_registered_seals_sha256", table_name="registered_seals")
    op.drop_table("registered_seals")
