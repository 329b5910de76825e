"""push wiring: cabinet and device push subscriptions, a link on notifications

``push_subscriptions``: ``organization_id`` may be empty (a patient cabinet account is
not one organization's: its subscriptions reach it from every clinic it is attached
to); ``session_id`` names the cabinet session that subscribed (logging out removes
it); one browser endpoint may serve several subjects (the clinician app's workplaces
share its service worker), so the endpoint is unique per subject.
``notification_messages.link``: the page a push notification opens when clicked.

Revision ID: 0028
Revises: 0026
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("push_subscriptions") as batch:
        batch.alter_column("organization_id", existing_type=sa.String(36), nullable=True)
        batch.add_column(sa.Column("session_id", sa.String(36), nullable=True))
        batch.drop_constraint("uq_push_subscriptions_endpoint", type_="unique")
        batch.create_unique_constraint(
            "uq_push_subscriptions_endpoint", ["endpoint", "subject_kind", "subject_id"]
        )
    op.create_index(
        "ix_push_subscriptions_kind_subject", "push_subscriptions", ["subject_kind", "subject_id"]
    )
    op.create_index("ix_push_subscriptions_session_id", "push_subscriptions", ["session_id"])
    with op.batch_alter_table("notification_messages") as batch:
        batch.add_column(sa.Column("link", sa.String(500), nullable=True))


def downgrade() -> None:
    """Revert: cabinet subscriptions (no organization) and second subjects of one
    endpoint cannot be kept by the older schema and are dropped."""
    with op.batch_alter_table("notification_messages") as batch:
        batch.drop_column("link")
    op.drop_index("ix_push_subscriptions_session_id", table_name="push_subscriptions")
    op.drop_index("ix_push_subscriptions_kind_subject", table_name="push_subscriptions")
    op.execute("DELETE FROM push_subscriptions WHERE organization_id IS NULL")
    op.execute(
        "DELETE FROM push_subscriptions WHERE id NOT IN "
        "(SELECT MIN(id) FROM push_subscriptions GROUP BY endpoint)"
    )
    with op.batch_alter_table("push_subscriptions") as batch:
        batch.drop_constraint("uq_push_subscriptions_endpoint", type_="unique")
        batch.create_unique_constraint("uq_push_subscriptions_endpoint", ["endpoint"])
        batch.drop_column("session_id")
        batch.alter_column("organization_id", existing_type=sa.String(36), nullable=False)
