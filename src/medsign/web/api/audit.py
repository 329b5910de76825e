"""``/api/v1/audit``: the transparency log's checkpoints and proofs, for monitors.

An outside monitor keeps the checkpoints it has seen, asks for a consistency proof from
each to the next (RFC 9162 §2.1.4) and so learns whether history was ever rewritten;
anyone holding an event (or the certificate of completion) can check its inclusion
(§2.1.3) against a checkpoint whose note is signed by the log's key and time-stamped.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from medsign.audit.models import AuditEvent
from medsign.audit.proofs import (
    checkpoint_of_size,
    checkpoint_view,
    consistency_proof,
    event_of,
    inclusion_proof,
    list_checkpoints,
)
from medsign.audit.schemas import (
    AuditEventOut,
    CheckpointOut,
    CheckpointPage,
    ConsistencyProofOut,
    InclusionProofOut,
)
from medsign.audit.service import leaf_data
from medsign.web.deps import org_transaction, runtime

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

TreeSize = Annotated[int, Query(ge=1, le=2**62, description="A checkpoint's tree size.")]


def _event_out(event: AuditEvent) -> AuditEventOut:
    return AuditEventOut(
        id=event.id,
        at=event.at,
        action=event.action,
        actor=event.actor,
        envelope_id=event.envelope_id,
        leaf_index=event.leaf_index,
        leaf_data=base64.b64encode(leaf_data(event)).decode(),
    )


def _checkpoint_out(view: dict[str, Any]) -> CheckpointOut:
    return CheckpointOut.model_validate(view)


@router.get("/checkpoints", response_model=CheckpointPage)
def checkpoints(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> CheckpointPage:
    """Published checkpoints, newest first (a new one every few seconds of activity)."""
    rt = runtime(request)
    with org_transaction(request) as (session, _org_id):
        found = list_checkpoints(session, limit=limit, before=before)
        return CheckpointPage(
            verifier_key=rt.audit_log.key.verifier_key(),
            checkpoints=[_checkpoint_out(checkpoint_view(cp)) for cp in found],
            next_before=found[-1].tree_size if len(found) == limit else None,
        )


@router.get("/events", response_model=list[AuditEventOut])
def events(
    request: Request,
    envelope_id: Annotated[str, Query(max_length=36, description="The envelope's id.")],
) -> list[AuditEventOut]:
    """The audit events of one of the organization's envelopes, oldest first."""
    with org_transaction(request) as (session, org_id):
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.organization_id == org_id, AuditEvent.envelope_id == envelope_id)
            .order_by(AuditEvent.id)
        )
        return [_event_out(e) for e in rows]


_NOT_YET: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such event or checkpoint, or not covered yet."}
}


@router.get("/proofs/inclusion", response_model=InclusionProofOut, responses=_NOT_YET)
def inclusion(
    request: Request,
    event_id: Annotated[int, Query(ge=1, le=2**62, description="An audit event's id.")],
    tree_size: Annotated[
        int | None, Query(ge=1, le=2**62, description="Default: the newest checkpoint.")
    ] = None,
) -> InclusionProofOut:
    """The inclusion proof of one of the organization's events against a checkpoint."""
    with org_transaction(request) as (session, org_id):
        event = event_of(session, org_id, event_id)
        cp = checkpoint_of_size(session, tree_size)
        proof = inclusion_proof(session, event, cp.tree_size)
        return InclusionProofOut(
            event=_event_out(event),
            checkpoint=_checkpoint_out(checkpoint_view(cp)),
            **proof.view(),
        )


@router.get("/proofs/consistency", response_model=ConsistencyProofOut, responses=_NOT_YET)
def consistency(request: Request, first: TreeSize, second: TreeSize) -> ConsistencyProofOut:
    """The consistency proof from checkpoint ``first`` to checkpoint ``second``."""
    with org_transaction(request) as (session, _org_id):
        path = consistency_proof(session, first, second)
        return ConsistencyProofOut(
            first=first,
            second=second,
            hashes=[h.hex() for h in path],
            first_root_hash=bytes(checkpoint_of_size(session, first).root_hash).hex(),
            second_root_hash=bytes(checkpoint_of_size(session, second).root_hash).hex(),
        )
