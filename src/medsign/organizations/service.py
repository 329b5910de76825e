"""Creating organizations and authenticating their API tokens."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.branches.scope import Scope, current_branch
from medsign.branches.service import require_organization_scope, resolve_branch
from medsign.domain.policy import validate_overrides
from medsign.domain.tokens import Keyring, new_api_token
from medsign.errors import Conflict, InvalidInput, NotFound, Unauthorized
from medsign.organizations.models import ApiToken, Organization

TOKEN_PURPOSE = "api-token"  # noqa: S105 - a hash domain label, not a secret


@dataclass(frozen=True)
class CreatedOrganization:
    """A new organization and its first token (the token is shown only now)."""

    organization_id: str
    token: str


def create_organization(
    session: Session, keyring: Keyring, name: str, *, now: datetime
) -> CreatedOrganization:
    """Create an organization with one organization-scoped API token."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("The organization name must be 1 to 200 characters.", field="name")
    org = Organization(name=name, created_at=now)
    session.add(org)
    session.flush()
    token = issue_token(session, keyring, org.id, "default", now=now)
    record(session, org.id, "organization.created", at=now, actor="admin", data={"name": name})
    return CreatedOrganization(org.id, token)


def issue_token(
    session: Session, keyring: Keyring, organization_id: str, name: str, *, now: datetime
) -> str:
    """Issue an API token; only its keyed hash is stored."""
    token = new_api_token()
    session.add(
        ApiToken(
            organization_id=organization_id,
            name=name,
            token_hash=keyring.hash(TOKEN_PURPOSE, token),
            created_at=now,
        )
    )
    session.flush()
    return token


def authenticate(session: Session, keyring: Keyring, token: str | None, *, now: datetime) -> str:
    """Return the organization id of a valid token, or raise Unauthorized."""
    return authenticate_scope(session, keyring, token, now=now).organization_id


def authenticate_scope(
    session: Session, keyring: Keyring, token: str | None, *, now: datetime
) -> Scope:
    """Return what a valid token acts for (organization, optional branch), or raise
    Unauthorized (RFC 6750 §3.1 ``invalid_token``)."""
    if not token:
        raise Unauthorized("Send an API token: `Authorization: Bearer <token>`.")
    row = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == keyring.hash(TOKEN_PURPOSE, token))
    ).first()
    if row is None or row.revoked_at is not None:
        raise Unauthorized("The API token is not valid (unknown or revoked).")
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        row.last_used_at = now  # coarse, so reads do not write on every request
    return Scope(row.organization_id, row.branch_id)


def get_organization(session: Session, organization_id: str) -> Organization:
    """The organization row (it exists whenever a token authenticated)."""
    org = session.get(Organization, organization_id)
    if org is None:
        raise Unauthorized("The organization of this token no longer exists.")
    return org


def first_organization(session: Session) -> Organization | None:
    """The oldest organization, if any (the demo start-up uses it)."""
    return session.scalars(select(Organization).order_by(Organization.created_at).limit(1)).first()


# --- named API tokens (issue [integration]) -------------------------------------------

MAX_ACTIVE_TOKENS = 50


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: its row and its secret value (shown only now)."""

    row: ApiToken
    token: str


def create_token(
    session: Session,
    keyring: Keyring,
    organization_id: str,
    name: str,
    *,
    now: datetime,
    branch_id: str | None = None,
    actor: str = "api",
) -> IssuedToken:
    """Issue a named token for the organization or, with ``branch_id``, for one branch.

    Rotation without downtime: create the new token, switch the integration to it,
    then revoke the old one. A branch token may only issue tokens of its own branch
    (never an organization token: no escalation); :func:`resolve_branch` applies it.
    """
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("The token name must be 1 to 100 characters.", field="name")
    branch_id = resolve_branch(session, organization_id, branch_id)
    active = session.scalars(
        select(ApiToken.id).where(
            ApiToken.organization_id == organization_id, ApiToken.revoked_at.is_(None)
        )
    ).all()
    if len(active) >= MAX_ACTIVE_TOKENS:
        raise Conflict(
            f"An organization may have at most {MAX_ACTIVE_TOKENS} active tokens; "
            "revoke unused ones first."
        )
    token = new_api_token()
    row = ApiToken(
        organization_id=organization_id,
        branch_id=branch_id,
        name=name,
        token_hash=keyring.hash(TOKEN_PURPOSE, token),
        created_at=now,
    )
    session.add(row)
    session.flush()
    record(
        session,
        organization_id,
        "api_token.created",
        at=now,
        actor=actor,
        data={"id": row.id, "branch_id": branch_id},
    )
    return IssuedToken(row, token)


def list_tokens(
    session: Session, organization_id: str, *, include_revoked: bool = False
) -> list[ApiToken]:
    """The organization's tokens (never their values), oldest first; a branch token
    sees only its branch's tokens."""
    query = select(ApiToken).where(ApiToken.organization_id == organization_id)
    if (branch := current_branch()) is not None:
        query = query.where(ApiToken.branch_id == branch)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return list(session.scalars(query.order_by(ApiToken.created_at, ApiToken.id)))


def revoke_token(
    session: Session, organization_id: str, token_id: str, *, now: datetime, actor: str = "api"
) -> ApiToken:
    """Revoke a token: it stops working with the next request.

    The last active token cannot be revoked (create another first), so an integration
    never locks its organization out of the API.
    """
    query = select(ApiToken).where(
        ApiToken.id == token_id, ApiToken.organization_id == organization_id
    )
    if (branch := current_branch()) is not None:
        query = query.where(ApiToken.branch_id == branch)  # other tokens: 404
    row = session.scalars(query.with_for_update()).first()
    if row is None:
        raise NotFound("No such API token in this organization.")
    if row.revoked_at is not None:
        return row
    others = select(ApiToken.id).where(
        ApiToken.organization_id == organization_id,
        ApiToken.revoked_at.is_(None),
        ApiToken.id != token_id,
    )
    if row.branch_id is None:
        # Branch tokens cannot manage branches: keep one organization token alive.
        others = others.where(ApiToken.branch_id.is_(None))
    if session.scalars(others).first() is None:
        raise Conflict("This is the last active token; create a new one before revoking it.")
    row.revoked_at = now
    record(session, organization_id, "api_token.revoked", at=now, actor=actor, data={"id": row.id})
    return row


def set_policy_overrides(
    session: Session,
    organization_id: str,
    raw: Mapping[str, Iterable[str]],
    *,
    now: datetime,
    actor: str = "api",
) -> dict[str, list[str]]:
    """Replace the organization's policy overrides (only tightening the law's defaults,
    :func:`medsign.domain.policy.validate_overrides`); organization scope only."""
    clean = validate_overrides(raw)
    require_organization_scope("change the signature policy")
    org = get_organization(session, organization_id)
    org.policy_overrides = clean
    record(session, organization_id, "policy.updated", at=now, actor=actor, data=clean)
    return clean
