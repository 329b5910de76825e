"""listing indexes: keyset pagination and filters of GET /api/v1/envelopes and /documents

Each list query is ``WHERE organization_id = ? [AND branch_id = ? | AND status = ?]
AND (updated_at, id) > (?, ?) ORDER BY updated_at, id LIMIT n`` (or the reverse for
newest first). A B-tree on ``(organization_id, [branch_id,] [status,] updated_at, id)``
answers it by reading n index entries from the cursor's position, whatever the depth of
the page (keyset pagination), in either direction. The single-column
``ix_envelopes_organization_id`` and ``ix_documents_organization_id`` become prefixes
of the new ones and are dropped. ``patient_mis_id`` had no index: filtering by patient
read every signer; now the patient card's index leads there, and a small partial index
covers the signers without a card.

On PostgreSQL the indexes are built CONCURRENTLY (outside the migration's transaction,
in Alembic's autocommit block) so that an upgrade does not block writes to tables of
millions of rows while they build; SQLite builds them in batch mode.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# (table, index name, columns)
INDEXES = (
    ("envelopes", "ix_envelopes_org_updated", ["organization_id", "updated_at", "id"]),
    (
        "envelopes",
        "ix_envelopes_org_status_updated",
        ["organization_id", "status", "updated_at", "id"],
    ),
    (
        "envelopes",
        "ix_envelopes_org_branch_updated",
        ["organization_id", "branch_id", "updated_at", "id"],
    ),
    (
        "envelopes",
        "ix_envelopes_org_branch_status_updated",
        ["organization_id", "branch_id", "status", "updated_at", "id"],
    ),
    ("documents", "ix_documents_org_created", ["organization_id", "created_at", "id"]),
    (
        "documents",
        "ix_documents_org_branch_created",
        ["organization_id", "branch_id", "created_at", "id"],
    ),
)
# The signers with a patient_mis_id but no patient card (roles other than patient and
# representative): few, so the index stays small (medsign.listing.service).
PARTIAL = ("signers", "ix_signers_patient_mis_id", ["patient_mis_id", "envelope_id"])
PARTIAL_WHERE = "patient_id IS NULL AND patient_mis_id IS NOT NULL"
# Prefixes of the new indexes: (table, index name, columns).
REPLACED = (
    ("envelopes", "ix_envelopes_organization_id", ["organization_id"]),
    ("documents", "ix_documents_organization_id", ["organization_id"]),
)


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    """Apply."""
    if _postgresql():
        with op.get_context().autocommit_block():
            for table, name, columns in INDEXES:
                # A CONCURRENTLY build that failed leaves an INVALID index of this name
                # behind; build it again rather than keep it.
                op.drop_index(name, postgresql_concurrently=True, if_exists=True)
                op.create_index(name, table, columns, postgresql_concurrently=True)
            table, name, columns = PARTIAL
            op.drop_index(name, postgresql_concurrently=True, if_exists=True)
            op.create_index(
                name,
                table,
                columns,
                postgresql_concurrently=True,
                postgresql_where=sa.text(PARTIAL_WHERE),
            )
            for _, name, _ in REPLACED:
                op.drop_index(name, postgresql_concurrently=True, if_exists=True)
        return
    for table, name, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)
    table, name, columns = PARTIAL
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(name, columns, unique=False, sqlite_where=sa.text(PARTIAL_WHERE))
    for table, name, _ in REPLACED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)


def downgrade() -> None:
    """Revert."""
    for table, name, columns in REPLACED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)
    for table, name, _ in (*reversed(INDEXES), PARTIAL):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
