"""intake sources: the files each document was made of

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "document_sources",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_sources_document_id_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_sources")),
    )
    with op.batch_alter_table("document_sources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_document_sources_document_id"), ["document_id"], unique=False
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("document_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_sources_document_id"))
    op.drop_table("document_sources")
