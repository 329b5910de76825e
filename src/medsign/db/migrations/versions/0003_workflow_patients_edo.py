"""workflow: patients, EDO agreements, envelope events, reminders, policy overrides

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import medsign.db.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("envelope_id", sa.String(length=36), nullable=True),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", medsign.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_events_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_events_event_id")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_envelope_id"), ["envelope_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_events_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "patients",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("mis_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("preferred_channel", sa.String(length=10), nullable=True),
        sa.Column("created_at", medsign.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", medsign.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_patients_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("organization_id", "mis_id", name=op.f("uq_patients_organization_id")),
    )
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patients_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "edo_agreements",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("envelope_id", sa.String(length=36), nullable=True),
        sa.Column("document_id", sa.String(length=36), nullable=True),
        sa.Column("attested_by", sa.String(length=200), nullable=True),
        sa.Column("valid_from", medsign.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", medsign.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", medsign.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=40), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.Column("created_at", medsign.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_edo_agreements_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_edo_agreements_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edo_agreements")),
    )
    with op.batch_alter_table("edo_agreements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_edo_agreements_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_edo_agreements_patient_id"), ["patient_id"], unique=False
        )

    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("policy_overrides", sa.JSON(), nullable=True))

    with op.batch_alter_table("signers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("patient_id", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column("reminders_sent", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("last_reminded_at", medsign.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_signers_patient_id"), ["patient_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_signers_patient_id_patients"), "patients", ["patient_id"], ["id"]
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("signers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_signers_patient_id_patients"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_signers_patient_id"))
        batch_op.drop_column("last_reminded_at")
        batch_op.drop_column("reminders_sent")
        batch_op.drop_column("patient_id")

    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("policy_overrides")

    with op.batch_alter_table("edo_agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_edo_agreements_patient_id"))
        batch_op.drop_index(batch_op.f("ix_edo_agreements_organization_id"))

    op.drop_table("edo_agreements")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patients_organization_id"))

    op.drop_table("patients")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_organization_id"))
        batch_op.drop_index(batch_op.f("ix_events_envelope_id"))
        batch_op.drop_index(batch_op.f("ix_events_created_at"))

    op.drop_table("events")
