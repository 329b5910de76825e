"""Request-scoped access to the runtime and the caller's organization."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from sqlalchemy.orm import Session

from medsign.organizations.service import authenticate
from medsign.runtime import Runtime


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
def org_transaction(request: Request) -> Iterator[tuple[Session, str]]:
    """A transaction plus the authenticated organization id (401 when the token is bad)."""
    rt = runtime(request)
    with rt.transaction() as session:
        org_id = authenticate(session, rt.keyring, bearer(request), now=rt.clock())
        yield session, org_id
