"""Roles, what each may do, and the views of staff and sessions the pages show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class StaffRole(StrEnum):
    """What a staff member is to the organization."""

    ADMIN = "admin"  # everything, staff and settings included
    OPERATOR = "operator"  # sends and manages envelopes
    CLINICIAN = "clinician"  # sends and manages envelopes (later: countersigns)
    VIEWER = "viewer"  # reads and downloads only


class Action(StrEnum):
    """Something a staff member may be allowed to do in the console."""

    VIEW = "view"
    SEND = "send"
    MANAGE_ENVELOPES = "manage_envelopes"  # resend, remind, change contact, void
    MANAGE_STAFF = "manage_staff"
    SETTINGS = "settings"


_SENDERS = frozenset({Action.VIEW, Action.SEND, Action.MANAGE_ENVELOPES})
PERMISSIONS: dict[StaffRole, frozenset[Action]] = {
    StaffRole.ADMIN: frozenset(Action),
    StaffRole.OPERATOR: _SENDERS,
    StaffRole.CLINICIAN: _SENDERS,
    StaffRole.VIEWER: frozenset({Action.VIEW}),
}


def allows(role: str, action: Action) -> bool:
    """True when ``role`` may do ``action`` (an unknown role may do nothing)."""
    try:
        return action in PERMISSIONS[StaffRole(role)]
    except ValueError:
        return False


@dataclass(frozen=True)
class Actor:
    """The staff member behind a console request, as services need them."""

    staff_id: str
    organization_id: str
    branch_id: str | None
    role: str
    email: str
    session_id: str

    @property
    def audit_name(self) -> str:
        """How audit events name them (an id, no personal data)."""
        return f"staff:{self.staff_id}"


@dataclass(frozen=True)
class CreatedStaff:
    """A new staff member and the password generated for them (shown once)."""

    staff_id: str
    password: str


@dataclass(frozen=True)
class SessionView:
    """One of a staff member's sessions, for the sessions page."""

    id: str
    created_at: datetime
    last_seen_at: datetime
    user_agent: str
    current: bool
