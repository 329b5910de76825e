"""appointments and notification rules: appointments, templates, rules, the schedule of
due notifications and the ledger that makes each fire once

``appointments`` (per organization, keyed by the MIS id); on ``organizations`` the time
zone (IANA name, NULL = UTC), quiet hours (minutes after local midnight, NULL = none)
and the language of notifications; ``notification_templates`` (per organization, event
and language); ``notification_rules``; ``notification_schedule`` (each target's next
fire time, indexed, so a scan reads only what is due); ``notification_firings`` (one row
per rule, target and occurrence: unique, so a rule fires once however many workers
scan); its message goes out through the notification queue (docs/notification-rules.md).

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import medsign.db.base

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_TS = medsign.db.base.UTCDateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("time_zone", sa.String(64), nullable=True))
        batch.add_column(sa.Column("quiet_start_minute", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("quiet_end_minute", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("notification_lang", sa.String(2), nullable=True))
    op.create_table(
        "appointments",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("branch_id", sa.String(36), nullable=True),
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("mis_id", sa.String(100), nullable=False),
        sa.Column("starts_at", _TS, nullable=False),
        sa.Column("doctor", sa.String(200), nullable=False),
        sa.Column("service", sa.String(200), nullable=False),
        sa.Column("telemedicine", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("cancelled_at", _TS, nullable=True),
        sa.Column("status_changed_at", _TS, nullable=False),
        sa.Column("results_ready_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        _fk("appointments", "organization_id", "organizations"),
        _fk("appointments", "branch_id", "branches"),
        _fk("appointments", "patient_id", "patients"),
        sa.PrimaryKeyConstraint("id", name="pk_appointments"),
        sa.UniqueConstraint("organization_id", "mis_id", name="uq_appointments_org_mis_id"),
    )
    op.create_index("ix_appointments_patient_starts", "appointments", ["patient_id", "starts_at"])
    op.create_table(
        "notification_templates",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        _fk("notification_templates", "organization_id", "organizations"),
        sa.PrimaryKeyConstraint("id", name="pk_notification_templates"),
        sa.UniqueConstraint(
            "organization_id", "event", "lang", name="uq_notification_templates_org_event_lang"
        ),
    )
    op.create_table(
        "notification_rules",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("offset_minutes", sa.Integer(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("template", sa.JSON(), nullable=True),
        sa.Column("services", sa.JSON(), nullable=True),
        sa.Column("statuses", sa.JSON(), nullable=True),
        sa.Column("set_status", sa.String(20), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        _fk("notification_rules", "organization_id", "organizations"),
        sa.PrimaryKeyConstraint("id", name="pk_notification_rules"),
    )
    op.create_index(
        "ix_notification_rules_organization_id", "notification_rules", ["organization_id"]
    )
    op.create_table(
        "notification_schedule",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("rule_id", sa.String(36), nullable=False),
        sa.Column("target_id", sa.String(36), nullable=False),
        sa.Column("occurrence", sa.String(80), nullable=False),
        sa.Column("due_at", _TS, nullable=False),
        _fk("notification_schedule", "rule_id", "notification_rules"),
        sa.PrimaryKeyConstraint("id", name="pk_notification_schedule"),
        sa.UniqueConstraint("rule_id", "target_id", name="uq_notification_schedule_rule_target"),
    )
    op.create_index("ix_notification_schedule_due_at", "notification_schedule", ["due_at"])
    op.create_index("ix_notification_schedule_target_id", "notification_schedule", ["target_id"])
    op.create_table(
        "notification_firings",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("rule_id", sa.String(36), nullable=False),
        sa.Column("target_id", sa.String(36), nullable=False),
        sa.Column("occurrence", sa.String(80), nullable=False),
        sa.Column("appointment_id", sa.String(36), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("set_status", sa.String(20), nullable=True),
        sa.Column("fired_at", _TS, nullable=False),
        _fk("notification_firings", "rule_id", "notification_rules"),
        sa.PrimaryKeyConstraint("id", name="pk_notification_firings"),
        sa.UniqueConstraint(
            "rule_id", "target_id", "occurrence", name="uq_notification_firings_once"
        ),
    )
    op.create_index(
        "ix_notification_firings_set_status",
        "notification_firings",
        ["fired_at"],
        postgresql_where=sa.text("set_status IS NOT NULL"),
        sqlite_where=sa.text("set_status IS NOT NULL"),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_notification_firings_set_status", table_name="notification_firings")
    op.drop_table("notification_firings")
    op.drop_index("ix_notification_schedule_target_id", table_name="notification_schedule")
    op.drop_index("ix_notification_schedule_due_at", table_name="notification_schedule")
    op.drop_table("notification_schedule")
    op.drop_index("ix_notification_rules_organization_id", table_name="notification_rules")
    op.drop_table("notification_rules")
    op.drop_table("notification_templates")
    op.drop_index("ix_appointments_patient_starts", table_name="appointments")
    op.drop_table("appointments")
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("notification_lang")
        batch.drop_column("quiet_end_minute")
        batch.drop_column("quiet_start_minute")
        batch.drop_column("time_zone")
