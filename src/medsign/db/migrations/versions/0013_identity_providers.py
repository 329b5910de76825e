"""idp: identity providers, logins through them, verified patient identities

``identity_providers`` (client secrets encrypted with a key derived from the deployment
secret), ``idp_logins`` (one per trip to the provider), ``patient_identities`` (what a
provider vouched for, from whom, when), and on ``signers`` the provider, birth date and
keyed hash of the national id a method ``idp`` signer must prove.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import medsign.db.base

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_TS = medsign.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "identity_providers",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("client_id", sa.String(200), nullable=False),
        sa.Column("client_secret_enc", sa.Text(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.Column("discovery", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("disabled_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_identity_providers_organization_id_organizations",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_identity_providers"),
    )
    op.create_index(
        "ix_identity_providers_organization_id", "identity_providers", ["organization_id"]
    )
    op.create_table(
        "idp_logins",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("signer_id", sa.String(36), nullable=False),
        sa.Column("provider_id", sa.String(36), nullable=False),
        sa.Column("state_hash", sa.String(64), nullable=False),
        sa.Column("nonce_salt", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("outcome", sa.String(40), nullable=True),
        sa.ForeignKeyConstraint(
            ["signer_id"], ["signers.id"], name="fk_idp_logins_signer_id_signers"
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["identity_providers.id"],
            name="fk_idp_logins_provider_id_identity_providers",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_idp_logins"),
        sa.UniqueConstraint("state_hash", name="uq_idp_logins_state_hash"),
    )
    op.create_index("ix_idp_logins_signer_id", "idp_logins", ["signer_id"])
    op.create_index("ix_idp_logins_provider_id", "idp_logins", ["provider_id"])
    op.create_table(
        "patient_identities",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("provider_id", sa.String(36), nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.Column("verified_at", _TS, nullable=False),
        sa.Column("envelope_id", sa.String(36), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_patient_identities_organization_id_organizations",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name="fk_patient_identities_patient_id_patients"
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["identity_providers.id"],
            name="fk_patient_identities_provider_id_identity_providers",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_patient_identities"),
    )
    op.create_index(
        "ix_patient_identities_organization_id", "patient_identities", ["organization_id"]
    )
    op.create_index("ix_patient_identities_patient_id", "patient_identities", ["patient_id"])
    with op.batch_alter_table("signers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identity_provider_id", sa.String(36), nullable=True))
        batch_op.add_column(sa.Column("birth_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("national_id_hash", sa.String(64), nullable=True))
        batch_op.create_index("ix_signers_identity_provider_id", ["identity_provider_id"])
        batch_op.create_foreign_key(
            "fk_signers_identity_provider_id_identity_providers",
            "identity_providers",
            ["identity_provider_id"],
            ["id"],
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("signers", schema=None) as batch_op:
        batch_op.drop_constraint(
            "fk_signers_identity_provider_id_identity_providers", type_="foreignkey"
        )
        batch_op.drop_index("ix_signers_identity_provider_id")
        batch_op.drop_column("national_id_hash")
        batch_op.drop_column("birth_date")
        batch_op.drop_column("identity_provider_id")
    op.drop_table("patient_identities")
    op.drop_table("idp_logins")
    op.drop_table("identity_providers")
