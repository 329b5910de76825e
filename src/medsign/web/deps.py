"""Request-scoped access to the runtime and the caller's organization (and branch)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from sqlalchemy.orm import Session

from medsign.branches.scope import Scope, branch_scope
from medsign.organizations.service import authenticate_scope
from medsign.runtime import Runtime

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # RFC 9110 §9.2.1: they read


def runtime(request: Request) -> Runtime:
    """The process runtime built in create_app()."""
    rt: Runtime = request.app.state.runtime
    return rt


def bearer(request: Request) -> str | None:
    """The token from ``Authorization: Bearer <token>`` (RFC 6750 §2.1)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


@contextmanager
def scope_transaction(request: Request) -> Iterator[tuple[Session, Scope]]:
    """A transaction plus what the token acts for (401 when the token is bad).

    Inside the block the token's branch (if any) limits every query helper
    (:mod:`medsign.branches.scope`): objects of other branches are 404. The branch is
    also kept on ``request.state.branch_id`` for the rest of the request.
    """
    rt = runtime(request)
    with rt.transaction(write=request.method not in SAFE_METHODS) as session:
        scope = authenticate_scope(session, rt.keyring, bearer(request), now=rt.clock())
        request.state.branch_id = scope.branch_id
        with branch_scope(scope.branch_id):
            yield session, scope


@contextmanager
def org_transaction(request: Request) -> Iterator[tuple[Session, str]]:
    """A transaction plus the authenticated organization id (401 when the token is bad);
    branch-scoped like :func:`scope_transaction`."""
    with scope_transaction(request) as (session, scope):
        yield session, scope.organization_id
