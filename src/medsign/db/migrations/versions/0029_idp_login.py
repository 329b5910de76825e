"""idp login: patients log in to the cabinet through an identity provider

``idp_logins`` serves two purposes now (identity.trip): ``purpose`` "sign" (a signer's
login, as before: ``signer_id`` and the document's ``sha256``) or "cabinet_login" /
"cabinet_link" (no signer, no document; a link names the ``account_id`` linking and
the ``cabinet_session_id`` it was started from, which must still be live at the end).
``identity_providers.cabinet_login`` marks a provider the cabinet offers.
``cabinet_identities`` links a cabinet account to an identity (issuer, subject), unique
on the pair so two accounts can never hold one identity.
``cabinet_sessions.identity_provider_id`` names the provider of an "idp" login.

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import medsign.db.base

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

_TS = medsign.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("identity_providers") as batch:
        batch.add_column(
            sa.Column("cabinet_login", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("idp_logins") as batch:
        batch.add_column(sa.Column("purpose", sa.String(20), nullable=False, server_default="sign"))
        batch.add_column(sa.Column("account_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("cabinet_session_id", sa.String(36), nullable=True))
        batch.alter_column("signer_id", existing_type=sa.String(36), nullable=True)
        batch.alter_column("sha256", existing_type=sa.String(64), nullable=True)
        batch.create_foreign_key(
            "fk_idp_logins_account_id_cabinet_accounts", "cabinet_accounts", ["account_id"], ["id"]
        )
        batch.create_index("ix_idp_logins_account_id", ["account_id"])
    op.create_table(
        "cabinet_identities",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("provider_id", sa.String(36), nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("linked_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["cabinet_accounts.id"],
            name="fk_cabinet_identities_account_id_cabinet_accounts",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["identity_providers.id"],
            name="fk_cabinet_identities_provider_id_identity_providers",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_cabinet_identities"),
        sa.UniqueConstraint("issuer", "subject", name="uq_cabinet_identities_issuer"),
    )
    op.create_index("ix_cabinet_identities_account_id", "cabinet_identities", ["account_id"])
    with op.batch_alter_table("cabinet_sessions") as batch:
        batch.add_column(sa.Column("identity_provider_id", sa.String(36), nullable=True))
        batch.create_foreign_key(
            "fk_cabinet_sessions_identity_provider_id_identity_providers",
            "identity_providers",
            ["identity_provider_id"],
            ["id"],
        )


def downgrade() -> None:
    """Revert: cabinet logins through a provider (which have no signer) are dropped,
    and so are the identities linked to cabinets."""
    with op.batch_alter_table("cabinet_sessions") as batch:
        batch.drop_constraint(
            "fk_cabinet_sessions_identity_provider_id_identity_providers", type_="foreignkey"
        )
        batch.drop_column("identity_provider_id")
    op.drop_index("ix_cabinet_identities_account_id", table_name="cabinet_identities")
    op.drop_table("cabinet_identities")
    op.execute("DELETE FROM idp_logins WHERE signer_id IS NULL OR sha256 IS NULL")
    with op.batch_alter_table("idp_logins") as batch:
        batch.drop_index("ix_idp_logins_account_id")
        batch.drop_constraint("fk_idp_logins_account_id_cabinet_accounts", type_="foreignkey")
        batch.alter_column("sha256", existing_type=sa.String(64), nullable=False)
        batch.alter_column("signer_id", existing_type=sa.String(36), nullable=False)
        batch.drop_column("cabinet_session_id")
        batch.drop_column("account_id")
        batch.drop_column("purpose")
    with op.batch_alter_table("identity_providers") as batch:
        batch.drop_column("cabinet_login")
