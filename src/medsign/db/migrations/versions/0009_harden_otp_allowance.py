"""harden: a clinic's resend renews a locked-out signer's code allowance

``signers.otp_allowance_from``: codes sent before this moment no longer count towards
``MEDSIGN_OTP_MAX_SENDS``. Indexes on the signers' contacts serve the per-contact cap
across links (``MEDSIGN_OTP_MAX_SENDS_PER_CONTACT``).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import medsign.db.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("signers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "otp_allowance_from", medsign.db.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_index("ix_signers_phone", ["phone"], unique=False)
        batch_op.create_index("ix_signers_email", ["email"], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("signers", schema=None) as batch_op:
        batch_op.drop_index("ix_signers_email")
        batch_op.drop_index("ix_signers_phone")
        batch_op.drop_column("otp_allowance_from")
