"""envelopes: the document's kind on the envelope, with an index for the kind filter

A document's kind never changes, so the envelope keeps a copy: listing envelopes by kind
(``GET /api/v1/envelopes?kind=``) walks ``(organization_id, kind, updated_at, id)``
instead of joining every envelope of the organization to its document (at 10 million
envelopes that filter missed p99 50 ms; bench/tables.py).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("envelopes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=40), nullable=True))
    op.execute(
        "UPDATE envelopes SET kind = "
        "(SELECT documents.kind FROM documents WHERE documents.id = envelopes.document_id)"
    )
    with op.batch_alter_table("envelopes", schema=None) as batch_op:
        batch_op.alter_column("kind", existing_type=sa.String(length=40), nullable=False)
    op.create_index(
        "ix_envelopes_org_kind_updated",
        "envelopes",
        ["organization_id", "kind", "updated_at", "id"],
    )


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_envelopes_org_kind_updated", table_name="envelopes")
    with op.batch_alter_table("envelopes", schema=None) as batch_op:
        batch_op.drop_column("kind")
