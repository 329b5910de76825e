"""Driving the staff console over HTTP: accounts, login, form tokens."""

from __future__ import annotations

import re
from typing import Protocol

from medsign.runtime import Runtime
from medsign.staff.service import create_staff


class FormClient(Protocol):
    """What the helpers need of an HTTP client (TestClient or httpx.Client)."""

    def get(self, url: str) -> object: ...  # pragma: no cover


def new_staff(
    rt: Runtime,
    organization_id: str,
    role: str = "operator",
    *,
    email: str | None = None,
    branch_id: str | None = None,
) -> tuple[str, str, str]:
    """Create a staff account; return (staff_id, email, password)."""
    email = email or f"{role}-{organization_id[:8]}@clinic.example"
    with rt.transaction() as session:
        created = create_staff(
            session, organization_id, email, role, branch_id=branch_id, now=rt.clock()
        )
    return created.staff_id, email, created.password


def csrf_of(html: str) -> str:
    """The first CSRF token of a page's forms."""
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)
