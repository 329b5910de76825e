"""The audit log: events, the Merkle tree over them and its signed checkpoints.

Events are appended concurrently (no shared row is locked on the request path); the
sequencer (:mod:`medsign.audit.sequencer`) gives each a ``leaf_index`` and folds it into
the RFC 9162 tree. Events written before the log existed also carry their place in the
old per-organization hash chain (``seq``, ``prev_hash``, ``hash``), still verifiable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import text

from medsign.db.base import Base, UTCDateTime


class AuditEvent(Base):
    """One state change. ``leaf_index`` is its position in the log, once sequenced."""

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("organization_id", "seq"),
        # What the sequencer reads: the events not yet in the tree, oldest first.
        Index(
            "ix_audit_events_unsequenced",
            "id",
            postgresql_where=text("leaf_index IS NULL"),
            sqlite_where=text("leaf_index IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(60))
    actor: Mapped[str] = mapped_column(String(120))
    envelope_id: Mapped[str | None] = mapped_column(String(36), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    leaf_index: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    # The first release's per-organization hash chain (events before migration 0008).
    seq: Mapped[int | None] = mapped_column(Integer)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditTreeNode(Base):
    """The hash of one perfect subtree: leaves ``index * 2**level`` onwards (RFC 9162)."""

    __tablename__ = "audit_tree_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditLogHead(Base):
    """The one row the sequencer locks: how many events the tree holds.

    Only the sequencer takes this row (``FOR UPDATE SKIP LOCKED``); requests never do.
    """

    __tablename__ = "audit_log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditLogCheckpoint(Base):
    """A signed note (C2SP tlog-checkpoint) of the tree's size and root, time-stamped."""

    __tablename__ = "audit_log_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    note: Mapped[str] = mapped_column(Text)
    timestamp_token: Mapped[bytes | None] = mapped_column(LargeBinary)
