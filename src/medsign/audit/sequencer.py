"""The sequencer: folds new audit events into the Merkle tree and signs a checkpoint.

Requests only insert events (:func:`medsign.audit.service.record`). Every few seconds a
worker runs :func:`sequence`: it takes the one head row with ``FOR UPDATE SKIP LOCKED``
(a second sequencer at the same moment simply skips), gives the unsequenced events the
next leaf indexes in id order, stores the leaf hashes and every perfect subtree they
complete (RFC 9162 §2.1), and publishes a checkpoint — a signed note of the new size and
root hash (:mod:`medsign.audit.note`) with an RFC 3161 time-stamp over it — in the same
transaction. A checkpoint is therefore never older than the events it covers, and an
event is at most one sequencing interval away from being covered.

An event whose transaction commits late (its id is smaller than ones already
sequenced) is simply taken by the next run: ids give order, not completeness.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from medsign.audit import merkle
from medsign.audit.models import AuditEvent, AuditLogCheckpoint, AuditLogHead, AuditTreeNode
from medsign.audit.note import Checkpoint, LogIdentity
from medsign.audit.service import leaf_data

if TYPE_CHECKING:
    from medsign.runtime import Runtime

log = logging.getLogger("medsign.audit")

BATCH = 5000  # events folded in per transaction


class TokenSource(Protocol):
    """What :class:`medsign.pdf.timestamp.Timestamper` offers: RFC 3161 tokens."""

    def timestamp(self, digest: bytes) -> bytes:
        """A DER TimeStampToken over the SHA-256 ``digest``."""
        ...


def note_digest(note: str) -> bytes:
    """What the TSA time-stamps: SHA-256 of the whole signed note."""
    return hashlib.sha256(note.encode()).digest()


def stored_nodes(session: Session) -> merkle.NodeCache:
    """The tree's perfect subtrees as a :data:`merkle.Subtree`, read from the table."""

    def fetch(level: int, index: int) -> bytes:
        found = session.scalar(
            select(AuditTreeNode.hash).where(
                AuditTreeNode.level == level, AuditTreeNode.index == index
            )
        )
        if found is None:
            raise LookupError(f"the audit tree has no node ({level}, {index})")
        return bytes(found)

    return merkle.NodeCache(fetch)


def sequence(
    session: Session,
    identity: LogIdentity,
    timestamper: TokenSource | None,
    *,
    now: datetime,
    wait: bool = False,
    batch: int = BATCH,
) -> AuditLogCheckpoint | None:
    """Fold up to ``batch`` unsequenced events into the tree and checkpoint it.

    Returns the new checkpoint, or None when nothing was waiting or another sequencer
    holds the head (unless ``wait``: then this one waits for it).
    """
    head = session.scalars(
        select(AuditLogHead).where(AuditLogHead.id == 1).with_for_update(skip_locked=not wait)
    ).first()
    if head is None:
        head = _recreate_head(session)
        if head is None:
            return None
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.leaf_index.is_(None))
        .order_by(AuditEvent.id)
        .limit(batch)
    ).all()
    if not events:
        return None
    old = head.tree_size
    nodes = stored_nodes(session)
    rows: list[dict[str, object]] = []
    for offset, event in enumerate(events):
        index = old + offset
        event.leaf_index = index
        leaf = merkle.leaf_hash(leaf_data(event))
        nodes.put(0, index, leaf)
        rows.append({"level": 0, "index": index, "hash": leaf})
    new = old + len(events)
    rows.extend(
        {"level": level, "index": index, "hash": h}
        for level, index, h in merkle.new_nodes(old, new, nodes)
    )
    session.flush()
    session.execute(insert(AuditTreeNode), rows)
    head.tree_size = new
    head.updated_at = now
    root = merkle.root(nodes, new)
    note = identity.key.sign(Checkpoint(identity.origin, new, root))
    token = None
    if timestamper is not None:
        try:
            token = timestamper.timestamp(note_digest(note))
        except Exception as exc:  # the TSA is a remote party: the log must not stop
            log.warning("checkpoint %d not time-stamped: %s", new, exc)
    checkpoint = AuditLogCheckpoint(
        tree_size=new, root_hash=root, created_at=now, note=note, timestamp_token=token
    )
    session.add(checkpoint)
    session.flush()
    return checkpoint


def _recreate_head(session: Session) -> AuditLogHead | None:
    """The head row when it is missing (None when it exists: another sequencer holds it).

    Migration 0008 creates it; should it ever be deleted, the tree it described is
    still there, so the head is rebuilt from the highest leaf index.
    """
    if session.scalar(select(func.count()).where(AuditLogHead.id == 1)):
        return None
    size = session.scalar(select(func.max(AuditEvent.leaf_index)))
    head = AuditLogHead(id=1, tree_size=0 if size is None else size + 1)
    try:
        with session.begin_nested():  # another sequencer may rebuild it at the same moment
            session.add(head)
    except IntegrityError:
        return None
    return head


def sequence_pending(rt: Runtime, *, wait: bool = False) -> int | None:
    """Fold every unsequenced event into the tree, one checkpoint per batch of up to
    ``BATCH``; returns the tree size reached, None when nothing was done here.

    ``wait``: block on a sequencer running elsewhere instead of leaving it the work
    (for callers that need their events covered now, e.g. the evidence job).
    """
    size = None
    stamper = rt.seal_keys.timestamper()
    while True:
        with rt.transaction() as session:
            cp = sequence(session, rt.audit_log, stamper, now=rt.clock(), wait=wait)
        if cp is None:
            return size
        size = cp.tree_size
