"""Reading the log: checkpoints, inclusion proofs and consistency proofs (RFC 9162 §2.1).

Proofs are only given against published checkpoints, the sizes a monitor can hold the
log to. Hashes travel as lowercase hex.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from medsign.audit import merkle
from medsign.audit.models import AuditEvent, AuditLogCheckpoint
from medsign.audit.sequencer import stored_nodes
from medsign.errors import InvalidInput, NotFound


def latest_checkpoint(session: Session) -> AuditLogCheckpoint | None:
    """The newest checkpoint, or None before the first."""
    return session.scalars(
        select(AuditLogCheckpoint).order_by(AuditLogCheckpoint.tree_size.desc()).limit(1)
    ).first()


def checkpoint_of_size(session: Session, tree_size: int | None) -> AuditLogCheckpoint:
    """The checkpoint of ``tree_size`` (the newest when None); 404 when there is none."""
    if tree_size is None:
        found = latest_checkpoint(session)
    else:
        found = session.get(AuditLogCheckpoint, tree_size)
    if found is None:
        raise NotFound(
            "No audit checkpoint of that size: list them at GET /api/v1/audit/checkpoints."
            if tree_size is not None
            else "The audit log has no checkpoint yet; try again in a few seconds.",
            retry_after=5,
        )
    return found


def checkpoint_view(cp: AuditLogCheckpoint) -> dict[str, Any]:
    """A checkpoint as JSON: size, root, the signed note and its RFC 3161 token."""
    token = cp.timestamp_token
    return {
        "tree_size": cp.tree_size,
        "root_hash": bytes(cp.root_hash).hex(),
        "created_at": cp.created_at.isoformat(),
        "note": cp.note,
        "timestamp_token": base64.b64encode(bytes(token)).decode() if token else None,
    }


def list_checkpoints(
    session: Session, *, limit: int, before: int | None = None
) -> list[AuditLogCheckpoint]:
    """Checkpoints newest first, ``limit`` of them, smaller than ``before`` if given."""
    query = select(AuditLogCheckpoint).order_by(AuditLogCheckpoint.tree_size.desc())
    if before is not None:
        query = query.where(AuditLogCheckpoint.tree_size < before)
    return list(session.scalars(query.limit(limit)))


@dataclass(frozen=True)
class InclusionProof:
    """Leaf ``leaf_index`` (hash ``leaf_hash``) is in the tree of checkpoint ``tree_size``."""

    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    path: list[bytes]

    def view(self) -> dict[str, Any]:
        """As JSON (hex hashes)."""
        return {
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "leaf_hash": self.leaf_hash.hex(),
            "hashes": [h.hex() for h in self.path],
        }


def inclusion_proof(session: Session, event: AuditEvent, tree_size: int) -> InclusionProof:
    """The audit path of a sequenced ``event`` in the tree of ``tree_size`` leaves."""
    if event.leaf_index is None or event.leaf_index >= tree_size:
        raise NotFound(
            "This audit event is not covered by that checkpoint yet; the log takes new "
            "events in within a few seconds.",
            retry_after=5,
        )
    nodes = stored_nodes(session)
    index = event.leaf_index
    return InclusionProof(
        index, tree_size, nodes(0, index), merkle.inclusion_path(nodes, index, tree_size)
    )


def event_of(session: Session, organization_id: str, event_id: int) -> AuditEvent:
    """An audit event of the organization (404 for another organization's)."""
    event = session.get(AuditEvent, event_id)
    if event is None or event.organization_id != organization_id:
        raise NotFound("No such audit event in this organization.")
    return event


def consistency_proof(session: Session, first: int, second: int) -> list[bytes]:
    """``PROOF(first, D[second])`` between two published checkpoints."""
    if not 0 < first <= second:
        raise InvalidInput("A consistency proof needs 0 < first <= second.")
    checkpoint_of_size(session, first)
    checkpoint_of_size(session, second)
    return merkle.consistency_path(stored_nodes(session), first, second)
