"""webauthn: the platform authenticators registered for clinician devices

``authenticator_credentials``: one row per WebAuthn credential (its id, COSE public key
and last signature counter), owned by a device of an organization (docs/clinician-devices.md).

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import medsign.db.base

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_TS = medsign.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "authenticator_credentials",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("credential_id", sa.LargeBinary(1023), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.Integer(), nullable=False),
        sa.Column("aaguid", sa.String(36), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_used_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["clinician_devices.id"],
            name="fk_authenticator_credentials_device_id_clinician_devices",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_authenticator_credentials_organization_id_organizations",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_authenticator_credentials"),
        sa.UniqueConstraint("credential_id", name="uq_authenticator_credentials_credential_id"),
    )
    op.create_index(
        "ix_authenticator_credentials_device_id", "authenticator_credentials", ["device_id"]
    )
    op.create_index(
        "ix_authenticator_credentials_organization_id",
        "authenticator_credentials",
        ["organization_id"],
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("authenticator_credentials")
