"""esia: identity providers of kind "esia" (Russia's ESIA / Gosuslugi login)

``identity_providers.kind`` ("oidc" for every existing row), the information system's
GOST certificate, its private key sealed like the client secret, and ESIA's
certificate that signs its ID tokens.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("identity_providers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(10), nullable=False, server_default="oidc"))
        batch_op.add_column(sa.Column("client_certificate", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("client_key_enc", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("provider_certificate", sa.Text(), nullable=True))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("identity_providers", schema=None) as batch_op:
        batch_op.drop_column("provider_certificate")
        batch_op.drop_column("client_key_enc")
        batch_op.drop_column("client_certificate")
        batch_op.drop_column("kind")
