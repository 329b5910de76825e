"""staff: console accounts, their sessions, bulk sends; signer name index

``staff_members`` (argon2id password hashes, encrypted TOTP keys, keyed hashes of
invitation tokens), ``staff_sessions`` (keyed hashes of session tokens), ``bulk_sends``
and ``bulk_rows`` (one CSV patient each), ``signer_templates`` (saved signers), and
``ix_signers_name`` so the console's patient search is a prefix range on an index
(built CONCURRENTLY on PostgreSQL).

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import medsign.db.base

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_TS = medsign.db.base.UTCDateTime(timezone=True)
NAME_INDEX = "ix_signers_name"


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "staff_members",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("branch_id", sa.String(36), nullable=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.Column("totp_secret", sa.String(200), nullable=True),
        sa.Column("totp_enabled", sa.Boolean(), nullable=False),
        sa.Column("totp_last_step", sa.Integer(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", _TS, nullable=True),
        sa.Column("invite_hash", sa.String(64), nullable=True),
        sa.Column("invite_expires_at", _TS, nullable=True),
        sa.Column("deactivated_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_staff_members_organization_id_organizations",
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name="fk_staff_members_branch_id_branches"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_staff_members"),
        sa.UniqueConstraint("email", name="uq_staff_members_email"),
        sa.UniqueConstraint("invite_hash", name="uq_staff_members_invite_hash"),
    )
    op.create_index("ix_staff_members_organization_id", "staff_members", ["organization_id"])
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("staff_id", sa.String(36), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("mfa_pending", sa.Boolean(), nullable=False),
        sa.Column("user_agent", sa.String(200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_seen_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_members.id"], name="fk_staff_sessions_staff_id_staff_members"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_staff_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_staff_sessions_token_hash"),
    )
    op.create_index("ix_staff_sessions_staff_id", "staff_sessions", ["staff_id"])
    op.create_table(
        "bulk_sends",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("branch_id", sa.String(36), nullable=True),
        sa.Column("staff_id", sa.String(36), nullable=False),
        sa.Column("document_id", sa.String(36), nullable=False),
        sa.Column("method", sa.String(20), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_bulk_sends_organization_id_organizations",
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name="fk_bulk_sends_branch_id_branches"
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_members.id"], name="fk_bulk_sends_staff_id_staff_members"
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name="fk_bulk_sends_document_id_documents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bulk_sends"),
    )
    op.create_index("ix_bulk_sends_organization_id", "bulk_sends", ["organization_id"])
    op.create_table(
        "bulk_rows",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bulk_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("contact", sa.String(254), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("envelope_id", sa.String(36), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bulk_id"], ["bulk_sends.id"], name="fk_bulk_rows_bulk_id_bulk_sends"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bulk_rows"),
        sa.UniqueConstraint("bulk_id", "position", name="uq_bulk_rows_bulk_id"),
    )
    op.create_table(
        "signer_templates",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("branch_id", sa.String(36), nullable=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("seal_first", sa.Boolean(), nullable=False),
        sa.Column("copies", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(36), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_signer_templates_organization_id_organizations",
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name="fk_signer_templates_branch_id_branches"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_signer_templates"),
        sa.UniqueConstraint("organization_id", "name", name="uq_signer_templates_organization_id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            # A CONCURRENTLY build that failed leaves an INVALID index behind: rebuild it.
            op.drop_index(NAME_INDEX, postgresql_concurrently=True, if_exists=True)
            op.create_index(NAME_INDEX, "signers", ["name"], postgresql_concurrently=True)
    else:
        op.create_index(NAME_INDEX, "signers", ["name"])


def downgrade() -> None:
    """Revert."""
    op.drop_index(NAME_INDEX, table_name="signers")
    op.drop_table("signer_templates")
    op.drop_table("bulk_rows")
    op.drop_index("ix_bulk_sends_organization_id", table_name="bulk_sends")
    op.drop_table("bulk_sends")
    op.drop_index("ix_staff_sessions_staff_id", table_name="staff_sessions")
    op.drop_table("staff_sessions")
    op.drop_index("ix_staff_members_organization_id", table_name="staff_members")
    op.drop_table("staff_members")
