"""``/api/v1/policy``: the organization's effective signature policy and its overrides."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from medsign.domain.policy import policy_matrix, validate_overrides
from medsign.organizations.service import get_organization, set_policy_overrides
from medsign.web.deps import org_transaction, runtime

router = APIRouter(prefix="/api/v1/policy", tags=["policy"])


class PolicyIn(BaseModel):
    """Per-kind method lists; each may only remove methods from the defaults."""

    model_config = ConfigDict(extra="forbid")

    overrides: dict[str, list[str]]


class PolicyOut(BaseModel):
    """Overrides and the effective matrix (kind -> with/without EDO agreement -> methods)."""

    overrides: dict[str, list[str]]
    effective: dict[str, dict[str, list[str]]]


@router.get("", response_model=PolicyOut)
def read(request: Request) -> PolicyOut:
    """The policy in force for this organization."""
    with org_transaction(request) as (session, org_id):
        overrides = get_organization(session, org_id).policy_overrides or {}
        return PolicyOut(overrides=overrides, effective=policy_matrix(overrides))


@router.put(
    "",
    response_model=PolicyOut,
    responses={403: {"description": "A branch token: the policy is the organization's."}},
)
def replace(request: Request, body: PolicyIn) -> PolicyOut:
    """Replace the overrides (an organization may only tighten the law's defaults)."""
    rt = runtime(request)
    validate_overrides(body.overrides)  # before the transaction: a bad body touches nothing
    with org_transaction(request) as (session, org_id):
        clean = set_policy_overrides(session, org_id, body.overrides, now=rt.clock())
        return PolicyOut(overrides=clean, effective=policy_matrix(clean))
