"""evidence: certificate of completion and PAdES B-LTA archive per envelope

Three SHA-256 references into the content-addressed file store, set by the
``evidence`` job when an envelope completes (medsign.evidence.service).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("envelopes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evidence_json_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("evidence_pdf_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("archive_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("envelopes", schema=None) as batch_op:
        batch_op.drop_column("archive_sha256")
        batch_op.drop_column("evidence_pdf_sha256")
        batch_op.drop_column("evidence_json_sha256")
