"""Shapes of the audit log's API (``/api/v1/audit/...``); hashes are lowercase hex."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class CheckpointOut(BaseModel):
    """A published checkpoint: a signed note (C2SP tlog-checkpoint) of size and root."""

    tree_size: int
    root_hash: str
    created_at: datetime
    note: str = Field(description="The signed note: origin, size, base64 root, signature.")
    timestamp_token: str | None = Field(
        description="Base64 DER RFC 3161 token over SHA-256 of the whole note."
    )


class CheckpointPage(BaseModel):
    """Checkpoints newest first, and how to check their signatures."""

    verifier_key: str = Field(
        description="C2SP verifier key of the log: <name>+<key id hex>+<base64(0x01||Ed25519)>."
    )
    checkpoints: list[CheckpointOut]
    next_before: int | None = Field(description="Pass as `before` for older ones; null at the end.")


class AuditEventOut(BaseModel):
    """One audit event of the organization and its place in the log."""

    id: int
    at: datetime
    action: str
    actor: str
    envelope_id: str | None
    leaf_index: int | None = Field(description="Null until the sequencer takes it in (seconds).")
    leaf_data: str = Field(
        description="Base64 of the exact bytes the leaf commits to: leaf hash = "
        "SHA-256(0x00 || leaf_data) (RFC 9162 §2.1.1)."
    )


class InclusionProofOut(BaseModel):
    """RFC 9162 §2.1.3 inclusion proof of one event against one checkpoint."""

    event: AuditEventOut
    leaf_index: int
    tree_size: int
    leaf_hash: str
    hashes: list[str] = Field(description="The audit path, from the leaf upwards.")
    checkpoint: CheckpointOut


class ConsistencyProofOut(BaseModel):
    """RFC 9162 §2.1.4 consistency proof between two checkpoints."""

    first: int
    second: int
    hashes: list[str]
    first_root_hash: str
    second_root_hash: str
