"""Checking the whole audit log from its events, as a monitor or an auditor would.

:func:`verify_log` recomputes every leaf from the event rows (never trusting stored
hashes), rebuilds the tree once while streaming (O(log n) memory), and compares the root
at every checkpoint's size with the checkpoint; each checkpoint's note must carry a valid
signature of the log key and, where present, an RFC 3161 token whose imprint is the
note's digest and whose signature verifies. Matching roots at every checkpoint also
prove each checkpoint consistent with the next (both are prefixes of one tree).

What it catches: an edited event (its leaf changes: stored leaf and every later root
differ), a deleted one (a gap in the leaf indexes), an inserted or reordered one (the
roots differ), a re-hashed log (stored hashes match the rows, but not the signed and
time-stamped checkpoints), sequenced events past the last checkpoint (the sequencer
never leaves any). Events not yet sequenced are reported with the age of the oldest:
an attacker can drop them unnoticed only within that window (seconds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from medsign.audit import merkle
from medsign.audit.checkpoints import token_matches
from medsign.audit.models import AuditEvent, AuditLogCheckpoint, AuditTreeNode
from medsign.audit.note import Checkpoint, NoteError, NoteKey, VerifierKey, open_note
from medsign.audit.sequencer import note_digest
from medsign.audit.service import leaf_data


@dataclass(frozen=True)
class LogReport:
    """The outcome of :func:`verify_log`; ``problems`` is empty when the log is intact."""

    tree_size: int
    checkpoints: int
    unsequenced: int
    oldest_unsequenced_at: datetime | None
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def view(self) -> dict[str, Any]:
        """As JSON."""
        oldest = self.oldest_unsequenced_at
        return {
            "log": "audit",
            "intact": self.intact,
            "tree_size": self.tree_size,
            "checkpoints": self.checkpoints,
            "unsequenced": self.unsequenced,
            "oldest_unsequenced_at": oldest.isoformat() if oldest else None,
            "problems": self.problems[:20],
        }


def verify_log(session: Session, key: NoteKey, previous: Sequence[VerifierKey] = ()) -> LogReport:
    """Check every sequenced event against every checkpoint (see the module docstring).
    A checkpoint's note may be signed by the current key or by one of ``previous`` (the
    log keys before a rotation of ``MEDSIGN_SECRET_KEY``)."""
    verifiers = [key.verifier, *previous]
    problems: list[str] = []
    checkpoints = list(session.scalars(select(AuditLogCheckpoint).order_by("tree_size")))
    pending = iter(checkpoints)
    target = next(pending, None)
    compact = merkle.CompactRange()
    rows = session.execute(
        select(AuditEvent, AuditTreeNode.hash)
        .outerjoin(
            AuditTreeNode,
            and_(AuditTreeNode.level == 0, AuditTreeNode.index == AuditEvent.leaf_index),
        )
        .where(AuditEvent.leaf_index.is_not(None))
        .order_by(AuditEvent.leaf_index)
        .execution_options(yield_per=2000)
    )
    for event, stored in rows:
        if event.leaf_index != compact.size:
            problems.append(
                f"leaf {compact.size} is missing (next is {event.leaf_index}): "
                "an event was deleted or moved"
            )
            break
        leaf = merkle.leaf_hash(leaf_data(event))
        if stored is not None and bytes(stored) != leaf:
            problems.append(f"event {event.id} (leaf {compact.size}) differs from its leaf hash")
        compact.append(leaf)
        while target is not None and target.tree_size == compact.size:
            problems.extend(_check_checkpoint(target, compact.root(), verifiers))
            target = next(pending, None)
    while target is not None:
        problems.append(
            f"checkpoint {target.tree_size} covers more events than the log holds "
            f"({compact.size}): events were deleted"
        )
        target = next(pending, None)
    last = checkpoints[-1].tree_size if checkpoints else 0
    if compact.size > last:
        problems.append(f"{compact.size - last} sequenced events are not covered by any checkpoint")
    count, oldest = session.execute(
        select(func.count(AuditEvent.id), func.min(AuditEvent.at)).where(
            AuditEvent.leaf_index.is_(None)
        )
    ).one()
    return LogReport(compact.size, len(checkpoints), int(count), oldest, problems)


def _open_with_any(note: str, verifiers: Sequence[VerifierKey]) -> Checkpoint:
    """The checkpoint of ``note`` signed by the first of ``verifiers`` that signed it."""
    error: NoteError | None = None
    for verifier in verifiers:
        try:
            return open_note(note, verifier.name, verifier.public)
        except NoteError as exc:
            error = error or exc  # the current key's answer is the one worth showing
    assert error is not None
    raise error


def _check_checkpoint(
    cp: AuditLogCheckpoint, root: bytes, verifiers: Sequence[VerifierKey]
) -> list[str]:
    problems = []
    if bytes(cp.root_hash) != root:
        problems.append(
            f"checkpoint {cp.tree_size}: its root differs from the events' tree "
            "(an event was edited, inserted or reordered)"
        )
    try:
        stated = _open_with_any(cp.note, verifiers)
        if stated.tree_size != cp.tree_size or stated.root_hash != root:
            problems.append(f"checkpoint {cp.tree_size}: the signed note states another tree")
    except NoteError as exc:
        problems.append(f"checkpoint {cp.tree_size}: {exc}")
    if cp.timestamp_token is not None and not token_matches(
        bytes(cp.timestamp_token), note_digest(cp.note)
    ):
        problems.append(f"checkpoint {cp.tree_size}: the time-stamp does not cover its note")
    return problems
