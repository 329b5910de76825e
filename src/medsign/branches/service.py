"""Creating and listing branches; resolving the branch of a new object.

Issue [integration] item 1: tokens are scoped to the organization or to one branch
(the Archimed+ plugin holds a company-level and a branch-level token). A branch token
sees only its branch's objects; anything else answers 404, never 403, so a branch
cannot even learn that another branch's object exists. Managing branches themselves
needs an organization token (403 otherwise: the caller is known, the action is not
theirs).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.branches.models import Branch
from medsign.branches.scope import current_branch
from medsign.errors import Conflict, Forbidden, InvalidInput, NotFound

MAX_BRANCHES = 1000


def require_organization_scope(action: str) -> None:
    """Refuse (403) when the current API request comes with a branch token."""
    if current_branch() is not None:
        raise Forbidden(f"Only an organization token may {action}; this token is a branch's.")


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("The branch name must be 1 to 200 characters.", field="name")
    return name


def _name_free(session: Session, organization_id: str, name: str) -> None:
    taken = session.scalars(
        select(Branch.id).where(Branch.organization_id == organization_id, Branch.name == name)
    ).first()
    if taken is not None:
        raise Conflict(f"The organization already has a branch named {name!r}.", branch_id=taken)


def create_branch(
    session: Session, organization_id: str, name: str, *, now: datetime, actor: str = "api"
) -> Branch:
    """Create a branch; names are unique within the organization (409 otherwise)."""
    require_organization_scope("create branches")
    name = _clean_name(name)
    count = session.scalar(
        select(func.count()).select_from(Branch).where(Branch.organization_id == organization_id)
    )
    if (count or 0) >= MAX_BRANCHES:
        raise Conflict(f"An organization may have at most {MAX_BRANCHES} branches.")
    _name_free(session, organization_id, name)
    branch = Branch(organization_id=organization_id, name=name, created_at=now)
    session.add(branch)
    session.flush()
    record(
        session,
        organization_id,
        "branch.created",
        at=now,
        actor=actor,
        data={"branch_id": branch.id, "name": name},
    )
    return branch


def rename_branch(
    session: Session,
    organization_id: str,
    branch_id: str,
    name: str,
    *,
    now: datetime,
    actor: str = "api",
) -> Branch:
    """Give a branch a new name (unique within the organization: 409 otherwise).

    The row is locked first, so two renames of one branch apply one after the other;
    the unique constraint (organization, name) settles two branches renamed to one
    name at once.
    """
    require_organization_scope("rename branches")
    name = _clean_name(name)
    branch = session.scalars(
        select(Branch)
        .where(Branch.id == branch_id, Branch.organization_id == organization_id)
        .with_for_update()
    ).first()
    if branch is None:
        raise NotFound(f"No branch with id {branch_id} in this organization.", field="branch_id")
    if branch.name == name:
        return branch
    _name_free(session, organization_id, name)
    old, branch.name = branch.name, name
    session.flush()
    record(
        session,
        organization_id,
        "branch.renamed",
        at=now,
        actor=actor,
        data={"branch_id": branch.id, "name": name, "previous_name": old},
    )
    return branch


def list_branches(session: Session, organization_id: str) -> list[Branch]:
    """The organization's branches, oldest first (organization tokens only)."""
    require_organization_scope("list branches")
    return list(
        session.scalars(
            select(Branch)
            .where(Branch.organization_id == organization_id)
            .order_by(Branch.created_at, Branch.id)
        )
    )


def get_branch(session: Session, organization_id: str, branch_id: str) -> Branch:
    """A branch of the organization, or NotFound (also for another organization's)."""
    branch = session.scalars(
        select(Branch).where(Branch.id == branch_id, Branch.organization_id == organization_id)
    ).first()
    if branch is None:
        raise NotFound(f"No branch with id {branch_id} in this organization.", field="branch_id")
    return branch


def resolve_branch(session: Session, organization_id: str, requested: str | None) -> str | None:
    """The branch a new object belongs to.

    With a branch token: that branch (naming another one is a 404, as if it did not
    exist). With an organization token: ``requested`` after checking it is one of the
    organization's branches, or None (the object belongs to the whole organization).
    """
    scoped = current_branch()
    if scoped is not None:
        if requested is not None and requested != scoped:
            raise NotFound(f"No branch with id {requested} for this token.", field="branch_id")
        return scoped
    if requested is None:
        return None
    return get_branch(session, organization_id, requested).id


def envelope_branch(
    session: Session, organization_id: str, requested: str | None, document_branch: str | None
) -> str | None:
    """The branch of a new envelope: the token's, the one requested, or its document's.

    An envelope cannot move a branch's document into another branch (422): the
    envelope's PDF is the document, and the other branch must not see it.
    """
    branch = resolve_branch(session, organization_id, requested)
    if branch is None:
        return document_branch
    if document_branch is not None and document_branch != branch:
        raise InvalidInput(
            "The document belongs to another branch; create the envelope in the "
            "document's branch (or leave `branch_id` out).",
            field="branch_id",
        )
    return branch
