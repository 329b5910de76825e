"""The branch scope of the API request being served.

The API's auth dependency (:func:`medsign.web.deps.scope_transaction`) sets it for the
duration of the request's transaction; the query helpers
(:func:`medsign.documents.service.get_document`,
:func:`medsign.envelopes.queries.load_envelope`, :mod:`medsign.listing.service`,
:mod:`medsign.webhooks.service`) read it and hide every object of another branch, so
every endpoint built on them is scoped without passing the branch around. Code that
runs outside an API request (the worker, the signing pages, the CLI) has no scope:
``None`` means "the whole organization".

Stdlib only: a :class:`contextvars.ContextVar` is per thread and per asyncio task.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

_BRANCH: ContextVar[str | None] = ContextVar("medsign_branch_scope", default=None)


@dataclass(frozen=True)
class Scope:
    """Who an API token acts for: an organization, optionally one of its branches."""

    organization_id: str
    branch_id: str | None = None

    @property
    def is_branch(self) -> bool:
        """True for a branch-scoped token."""
        return self.branch_id is not None


def current_branch() -> str | None:
    """The branch the current API request is limited to, or None (whole organization)."""
    return _BRANCH.get()


@contextmanager
def branch_scope(branch_id: str | None) -> Iterator[None]:
    """Limit the queries made inside the block to ``branch_id`` (None: no limit)."""
    token = _BRANCH.set(branch_id)
    try:
        yield
    finally:
        _BRANCH.reset(token)
