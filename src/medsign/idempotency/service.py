"""Idempotency keys (draft-ietf-httpapi-idempotency-key-header): a retried POST with
the same key and body gets the first response; a different body is refused."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from medsign.branches.scope import current_branch
from medsign.errors import IdempotencyMismatch, InvalidInput
from medsign.idempotency.models import IdempotencyRecord


def request_hash(method: str, path: str, body: bytes) -> str:
    """Fingerprint of a request (method, path and exact body)."""
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def scoped_key(key: str, branch_id: str | None) -> str:
    """The stored form of a client's key: keys are per organization and, for a branch
    token, per branch, so two branches' plugins using the same key never see each
    other's answers (issue [integration]: a branch token sees only its branch)."""
    if not key or len(key) > 255:
        raise InvalidInput("`Idempotency-Key` must be 1 to 255 characters.")
    if branch_id is None:
        return key
    return f"branch:{branch_id}:{hashlib.sha256(key.encode()).hexdigest()}"


def lookup(
    session: Session, organization_id: str, key: str, fingerprint: str
) -> tuple[int, dict[str, Any]] | None:
    """The stored (status, body) for ``key`` (the current branch scope applied:
    :func:`scoped_key`); IdempotencyMismatch if the body differs."""
    key = scoped_key(key, current_branch())
    row = session.scalars(
        select(IdempotencyRecord).where(
            IdempotencyRecord.organization_id == organization_id, IdempotencyRecord.key == key
        )
    ).first()
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise IdempotencyMismatch(
            "This Idempotency-Key was used with a different request. "
            "Use a new key for a new request."
        )
    return row.status_code, row.response


def remember(
    session: Session,
    organization_id: str,
    key: str,
    fingerprint: str,
    status_code: int,
    response: dict[str, Any],
) -> None:
    """Store the response in the same transaction as the change it reports."""
    session.add(
        IdempotencyRecord(
            organization_id=organization_id,
            key=scoped_key(key, current_branch()),
            request_hash=fingerprint,
            status_code=status_code,
            response=response,
        )
    )
    session.flush()
