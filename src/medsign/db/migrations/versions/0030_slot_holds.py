"""slot holds: an online slot held for a patient while they sign the telemedicine consent

One row per hold (docs/cabinet.md "Online visits"): while pending it names its slot,
unique, so one patient holds a slot at a time; ``expires_at`` is compared with now by
every query (no sweeper). Settled rows (``outcome`` booked or lost) let go of the slot
and wait to be shown once in the cabinet.

Revision ID: 0030
Revises: 0029
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _fk(column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_slot_holds_{column}_{target}"
    )


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "slot_holds",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("slot_id", sa.String(36), nullable=True),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("envelope_id", sa.String(36), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("outcome", sa.String(10), nullable=True),
        sa.Column("appointment_id", sa.String(36), nullable=True),
        _fk("slot_id", "schedule_slots"),
        _fk("organization_id", "organizations"),
        _fk("patient_id", "patients"),
        _fk("account_id", "cabinet_accounts"),
        _fk("envelope_id", "envelopes"),
        _fk("appointment_id", "appointments"),
        sa.PrimaryKeyConstraint("id", name="pk_slot_holds"),
        sa.UniqueConstraint("slot_id", name="uq_slot_holds_slot_id"),
    )
    op.create_index("ix_slot_holds_envelope_id", "slot_holds", ["envelope_id"])
    op.create_index("ix_slot_holds_account_id", "slot_holds", ["account_id"])
    op.create_index("ix_slot_holds_patient_id", "slot_holds", ["patient_id"])


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_slot_holds_patient_id", table_name="slot_holds")
    op.drop_index("ix_slot_holds_account_id", table_name="slot_holds")
    op.drop_index("ix_slot_holds_envelope_id", table_name="slot_holds")
    op.drop_table("slot_holds")
