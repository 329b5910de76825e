"""clinicians: clinicians, device enrollments, devices, device signing requests

A signer with method ``device`` names its clinician (``signers.clinician_id``);
docs/clinician-devices.md describes the flow.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "clinicians",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("licence_number", sa.String(64), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("clinicians", "organization_id", "organizations"),
        sa.PrimaryKeyConstraint("id", name="pk_clinicians"),
    )
    op.create_index("ix_clinicians_organization_id", "clinicians", ["organization_id"])
    op.create_table(
        "clinician_enrollments",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("clinician_id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("branch_id", sa.String(36), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("replaces_device_id", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        _fk("clinician_enrollments", "clinician_id", "clinicians"),
        _fk("clinician_enrollments", "organization_id", "organizations"),
        _fk("clinician_enrollments", "branch_id", "branches"),
        sa.PrimaryKeyConstraint("id", name="pk_clinician_enrollments"),
        sa.UniqueConstraint("token_hash", name="uq_clinician_enrollments_token_hash"),
    )
    op.create_index(
        "ix_clinician_enrollments_clinician_id", "clinician_enrollments", ["clinician_id"]
    )
    op.create_table(
        "clinician_devices",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("clinician_id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("branch_id", sa.String(36), nullable=True),
        sa.Column("enrollment_id", sa.String(36), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", sa.String(40), nullable=True),
        _fk("clinician_devices", "clinician_id", "clinicians"),
        _fk("clinician_devices", "organization_id", "organizations"),
        _fk("clinician_devices", "branch_id", "branches"),
        _fk("clinician_devices", "enrollment_id", "clinician_enrollments"),
        sa.PrimaryKeyConstraint("id", name="pk_clinician_devices"),
        sa.UniqueConstraint("token_hash", name="uq_clinician_devices_token_hash"),
        sa.UniqueConstraint("serial", name="uq_clinician_devices_serial"),
    )
    op.create_index("ix_clinician_devices_clinician_id", "clinician_devices", ["clinician_id"])
    op.create_table(
        "device_requests",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("envelope_id", sa.String(36), nullable=False),
        sa.Column("signer_id", sa.String(36), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("base_sha256", sa.String(64), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("prepared_sha256", sa.String(64), nullable=False),
        sa.Column("contents_at", sa.Integer(), nullable=False),
        sa.Column("contents_end", sa.Integer(), nullable=False),
        sa.Column("to_sign", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        _fk("device_requests", "organization_id", "organizations"),
        _fk("device_requests", "envelope_id", "envelopes"),
        _fk("device_requests", "signer_id", "signers"),
        _fk("device_requests", "device_id", "clinician_devices"),
        sa.PrimaryKeyConstraint("id", name="pk_device_requests"),
    )
    op.create_index("ix_device_requests_envelope_id", "device_requests", ["envelope_id"])
    op.create_index("ix_device_requests_device_status", "device_requests", ["device_id", "status"])
    op.create_index("ix_device_requests_signer_status", "device_requests", ["signer_id", "status"])
    with op.batch_alter_table("signers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clinician_id", sa.String(36), nullable=True))
        batch_op.create_index("ix_signers_clinician_id", ["clinician_id"])
        batch_op.create_foreign_key(
            "fk_signers_clinician_id_clinicians", "clinicians", ["clinician_id"], ["id"]
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("signers", schema=None) as batch_op:
        batch_op.drop_constraint("fk_signers_clinician_id_clinicians", type_="foreignkey")
        batch_op.drop_index("ix_signers_clinician_id")
        batch_op.drop_column("clinician_id")
    op.drop_table("device_requests")
    op.drop_table("clinician_devices")
    op.drop_table("clinician_enrollments")
    op.drop_table("clinicians")
