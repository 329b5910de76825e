"""notification delivery: messages, their delivery log, channel order, push, Telegram

``notification_messages`` holds one message per person and idempotency key with its
channel order; ``notification_deliveries`` is its append-only delivery log;
``notification_settings`` the per-organization fallback order; ``push_subscriptions``
and ``telegram_links`` the addresses of the push and Telegram channels
(docs/notifications.md).

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["organization_id"],
        ["organizations.id"],
        name=op.f(f"fk_{table}_organization_id_organizations"),
    )


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "notification_settings",
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _org_fk("notification_settings"),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_notification_settings")),
    )
    op.create_table(
        "notification_messages",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("branch_id", sa.String(36), nullable=True),
        sa.Column("patient_id", sa.String(36), nullable=True),
        sa.Column("subject_kind", sa.String(20), nullable=True),
        sa.Column("subject_id", sa.String(100), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("event", sa.String(60), nullable=True),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=True),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("idempotency_key", sa.String(120), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _org_fk("notification_messages"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_messages")),
        sa.UniqueConstraint(
            "organization_id",
            "idempotency_key",
            name=op.f("uq_notification_messages_organization_id"),
        ),
    )
    op.create_index(
        "ix_notification_messages_org_status",
        "notification_messages",
        ["organization_id", "status", "created_at"],
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(10), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("provider_ref", sa.String(120), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["notification_messages.id"],
            name=op.f("fk_notification_deliveries_message_id_notification_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
    )
    op.create_index(
        op.f("ix_notification_deliveries_message_id"), "notification_deliveries", ["message_id"]
    )
    op.create_index(
        op.f("ix_notification_deliveries_provider_ref"),
        "notification_deliveries",
        ["provider_ref"],
    )
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("subject_kind", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.String(100), nullable=False),
        sa.Column("endpoint", sa.String(1000), nullable=False),
        sa.Column("p256dh", sa.String(200), nullable=False),
        sa.Column("auth", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _org_fk("push_subscriptions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint("endpoint", name=op.f("uq_push_subscriptions_endpoint")),
    )
    op.create_index(
        "ix_push_subscriptions_subject",
        "push_subscriptions",
        ["organization_id", "subject_kind", "subject_id"],
    )
    op.create_table(
        "telegram_links",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("subject_kind", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("chat_id", sa.String(40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=True),
        _org_fk("telegram_links"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_telegram_links_token_hash")),
    )
    op.create_index(
        "ix_telegram_links_subject",
        "telegram_links",
        ["organization_id", "subject_kind", "subject_id"],
    )


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_telegram_links_subject", table_name="telegram_links")
    op.drop_table("telegram_links")
    op.drop_index("ix_push_subscriptions_subject", table_name="push_subscriptions")
    op.drop_table("push_subscriptions")
    op.drop_index(
        op.f("ix_notification_deliveries_provider_ref"), table_name="notification_deliveries"
    )
    op.drop_index(
        op.f("ix_notification_deliveries_message_id"), table_name="notification_deliveries"
    )
    op.drop_table("notification_deliveries")
    op.drop_index("ix_notification_messages_org_status", table_name="notification_messages")
    op.drop_table("notification_messages")
    op.drop_table("notification_settings")
