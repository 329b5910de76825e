"""cabinet: accounts, login codes, sessions, attach codes, links, agreements, shares

The patient cabinet (docs/cabinet.md): a person keyed by a verified contact logs in by
code; 9-digit attach codes join the cabinet to an organization's patient card. At most
one live link per card (a partial unique index), so a code typed twice at once attaches
once.

Revision ID: 0021
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0017"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "cabinet_accounts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("contact", sa.String(254), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cabinet_accounts"),
        sa.UniqueConstraint("contact", name="uq_cabinet_accounts_contact"),
    )
    op.create_table(
        "cabinet_login_codes",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("contact", sa.String(254), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("sent_at", TS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_cabinet_login_codes"),
    )
    op.create_index(
        "ix_cabinet_login_codes_contact_sent", "cabinet_login_codes", ["contact", "sent_at"]
    )
    op.create_table(
        "cabinet_sessions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("login_method", sa.String(20), nullable=False),
        sa.Column("login_code_id", sa.String(36), nullable=True),
        sa.Column("user_agent", sa.String(300), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        _fk("cabinet_sessions", "account_id", "cabinet_accounts"),
        sa.PrimaryKeyConstraint("id", name="pk_cabinet_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_cabinet_sessions_token_hash"),
    )
    op.create_index("ix_cabinet_sessions_account_id", "cabinet_sessions", ["account_id"])
    op.create_table(
        "cabinet_settings",
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("user_agreement_document_id", sa.String(36), nullable=True),
        sa.Column("attach_channel_priority", sa.String(20), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _fk("cabinet_settings", "organization_id", "organizations"),
        sa.ForeignKeyConstraint(
            ["user_agreement_document_id"],
            ["documents.id"],
            name="fk_cabinet_settings_user_agreement_document_id_documents",
        ),
        sa.PrimaryKeyConstraint("organization_id", name="pk_cabinet_settings"),
    )
    op.create_table(
        "attach_codes",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(10), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.Column("used_by", sa.String(36), nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        _fk("attach_codes", "organization_id", "organizations"),
        _fk("attach_codes", "patient_id", "patients"),
        sa.PrimaryKeyConstraint("id", name="pk_attach_codes"),
    )
    op.create_index("ix_attach_codes_organization_id", "attach_codes", ["organization_id"])
    op.create_index("ix_attach_codes_patient_id", "attach_codes", ["patient_id"])
    op.create_index("ix_attach_codes_code_hash", "attach_codes", ["code_hash"])
    op.create_table(
        "attach_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("ip_hash", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_attach_failures"),
    )
    op.create_index("ix_attach_failures_account_at", "attach_failures", ["account_id", "at"])
    op.create_index("ix_attach_failures_ip_at", "attach_failures", ["ip_hash", "at"])
    op.create_table(
        "patient_links",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("attach_code_id", sa.String(36), nullable=False),
        sa.Column("attached_at", TS, nullable=False),
        sa.Column("detached_at", TS, nullable=True),
        sa.Column("detached_by", sa.String(20), nullable=True),
        _fk("patient_links", "account_id", "cabinet_accounts"),
        _fk("patient_links", "organization_id", "organizations"),
        _fk("patient_links", "patient_id", "patients"),
        sa.PrimaryKeyConstraint("id", name="pk_patient_links"),
    )
    op.create_index("ix_patient_links_account_id", "patient_links", ["account_id"])
    op.create_index("ix_patient_links_organization_id", "patient_links", ["organization_id"])
    op.create_index("ix_patient_links_patient_id", "patient_links", ["patient_id"])
    op.create_index(
        "uq_patient_links_live_patient",
        "patient_links",
        ["patient_id"],
        unique=True,
        postgresql_where=sa.text("detached_at IS NULL"),
        sqlite_where=sa.text("detached_at IS NULL"),
    )
    op.create_table(
        "cabinet_agreements",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("document_id", sa.String(36), nullable=False),
        sa.Column("envelope_id", sa.String(36), nullable=False),
        sa.Column("accepted_at", TS, nullable=False),
        _fk("cabinet_agreements", "organization_id", "organizations"),
        _fk("cabinet_agreements", "account_id", "cabinet_accounts"),
        _fk("cabinet_agreements", "document_id", "documents"),
        _fk("cabinet_agreements", "envelope_id", "envelopes"),
        sa.PrimaryKeyConstraint("id", name="pk_cabinet_agreements"),
        sa.UniqueConstraint(
            "organization_id",
            "account_id",
            "document_id",
            name="uq_cabinet_agreements_organization_id",
        ),
    )
    op.create_index(
        "ix_cabinet_agreements_organization_id", "cabinet_agreements", ["organization_id"]
    )
    op.create_index("ix_cabinet_agreements_account_id", "cabinet_agreements", ["account_id"])
    op.create_table(
        "cabinet_shared_files",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("document_id", sa.String(36), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("cabinet_shared_files", "organization_id", "organizations"),
        _fk("cabinet_shared_files", "patient_id", "patients"),
        _fk("cabinet_shared_files", "account_id", "cabinet_accounts"),
        _fk("cabinet_shared_files", "document_id", "documents"),
        sa.PrimaryKeyConstraint("id", name="pk_cabinet_shared_files"),
    )
    op.create_index(
        "ix_cabinet_shared_files_organization_id", "cabinet_shared_files", ["organization_id"]
    )
    op.create_index("ix_cabinet_shared_files_patient_id", "cabinet_shared_files", ["patient_id"])


def downgrade() -> None:
    """Revert."""
    for table in (
        "cabinet_shared_files",
        "cabinet_agreements",
        "patient_links",
        "attach_failures",
        "attach_codes",
        "cabinet_settings",
        "cabinet_sessions",
        "cabinet_login_codes",
        "cabinet_accounts",
    ):
        op.drop_table(table)
