"""cabinet visits: doctors, services and free slots the MIS publishes; telemedicine;
pre-visit invites; record requests

The patient books a published slot in the cabinet (docs/cabinet.md "Appointments").
A slot points at the appointment that took it; a booked slot is locked while it is
taken, so two patients pressing "Book" at once make one appointment.

Revision ID: 0023
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0020"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "schedule_doctors",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("mis_id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("specialty", sa.String(200), nullable=True),
        _fk("schedule_doctors", "organization_id", "organizations"),
        sa.PrimaryKeyConstraint("id", name="pk_schedule_doctors"),
        sa.UniqueConstraint("organization_id", "mis_id", name="uq_schedule_doctors_org_mis_id"),
    )
    op.create_table(
        "schedule_services",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("mis_id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("telemedicine", sa.Boolean(), nullable=False),
        _fk("schedule_services", "organization_id", "organizations"),
        sa.PrimaryKeyConstraint("id", name="pk_schedule_services"),
        sa.UniqueConstraint("organization_id", "mis_id", name="uq_schedule_services_org_mis_id"),
    )
    op.create_table(
        "schedule_slots",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("branch_id", sa.String(36), nullable=True),
        sa.Column("mis_id", sa.String(100), nullable=False),
        sa.Column("doctor_mis_id", sa.String(100), nullable=False),
        sa.Column("service_mis_id", sa.String(100), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("telemedicine", sa.Boolean(), nullable=False),
        sa.Column("appointment_id", sa.String(36), nullable=True),
        _fk("schedule_slots", "organization_id", "organizations"),
        _fk("schedule_slots", "branch_id", "branches"),
        _fk("schedule_slots", "appointment_id", "appointments"),
        sa.PrimaryKeyConstraint("id", name="pk_schedule_slots"),
        sa.UniqueConstraint("organization_id", "mis_id", name="uq_schedule_slots_org_mis_id"),
    )
    op.create_index(
        "ix_schedule_slots_org_starts", "schedule_slots", ["organization_id", "starts_at"]
    )
    op.create_index("ix_schedule_slots_appointment_id", "schedule_slots", ["appointment_id"])
    op.create_table(
        "telemedicine_settings",
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("consent_document_id", sa.String(36), nullable=False),
        sa.Column("identity_provider_id", sa.String(36), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _fk("telemedicine_settings", "organization_id", "organizations"),
        _fk("telemedicine_settings", "consent_document_id", "documents"),
        sa.ForeignKeyConstraint(  # PostgreSQL names are at most 63 characters
            ["identity_provider_id"],
            ["identity_providers.id"],
            name="fk_telemedicine_settings_identity_provider_id",
        ),
        sa.PrimaryKeyConstraint("organization_id", name="pk_telemedicine_settings"),
    )
    op.create_table(
        "patient_invites",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("branch_id", sa.String(36), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("patient_id", sa.String(36), nullable=True),
        sa.Column("consent_text", sa.Text(), nullable=True),
        sa.Column("consent_lang", sa.String(2), nullable=True),
        _fk("patient_invites", "organization_id", "organizations"),
        _fk("patient_invites", "branch_id", "branches"),
        _fk("patient_invites", "patient_id", "patients"),
        sa.PrimaryKeyConstraint("id", name="pk_patient_invites"),
        sa.UniqueConstraint("token_hash", name="uq_patient_invites_token_hash"),
    )
    op.create_index("ix_patient_invites_organization_id", "patient_invites", ["organization_id"])
    op.create_table(
        "record_requests",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=True),
        sa.Column("period_to", sa.Date(), nullable=True),
        sa.Column("delivery", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("issued_at", TS, nullable=True),
        sa.Column("envelope_id", sa.String(36), nullable=True),
        sa.Column("overdue_at", TS, nullable=True),
        _fk("record_requests", "organization_id", "organizations"),
        _fk("record_requests", "patient_id", "patients"),
        _fk("record_requests", "account_id", "cabinet_accounts"),
        _fk("record_requests", "envelope_id", "envelopes"),
        sa.PrimaryKeyConstraint("id", name="pk_record_requests"),
    )
    op.create_index(
        "ix_record_requests_org_status_due",
        "record_requests",
        ["organization_id", "status", "due_at"],
    )
    op.create_index("ix_record_requests_patient_id", "record_requests", ["patient_id"])
    op.create_index("ix_record_requests_account_id", "record_requests", ["account_id"])
    op.create_table(
        "record_settings",
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("deadline_days", sa.Integer(), nullable=False),
        _fk("record_settings", "organization_id", "organizations"),
        sa.PrimaryKeyConstraint("organization_id", name="pk_record_settings"),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("record_settings")
    op.drop_index("ix_record_requests_account_id", table_name="record_requests")
    op.drop_index("ix_record_requests_patient_id", table_name="record_requests")
    op.drop_index("ix_record_requests_org_status_due", table_name="record_requests")
    op.drop_table("record_requests")
    op.drop_index("ix_patient_invites_organization_id", table_name="patient_invites")
    op.drop_table("patient_invites")
    op.drop_table("telemedicine_settings")
    op.drop_index("ix_schedule_slots_appointment_id", table_name="schedule_slots")
    op.drop_index("ix_schedule_slots_org_starts", table_name="schedule_slots")
    op.drop_table("schedule_slots")
    op.drop_table("schedule_services")
    op.drop_table("schedule_doctors")
