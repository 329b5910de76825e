"""Staff accounts: creation, invitations, login with lockout, TOTP, sessions.

Every change is an audit event (:func:`medsign.audit.service.record`) naming the staff
member by id only. Session tokens, invitation tokens and passwords are stored only as
keyed hashes or argon2id hashes (DESIGN.md "Security floor"); a login always issues a
new session token, so a token planted before the login is never promoted (OWASP
Session Management: session fixation).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.branches.service import resolve_branch
from medsign.domain.contacts import normalize_email
from medsign.domain.policy import parse_enum
from medsign.domain.tokens import Keyring
from medsign.errors import Conflict, Forbidden, InvalidInput, LinkExpired, NotFound, Unauthorized
from medsign.jobs.outbox import JobKind, enqueue
from medsign.organizations.models import Organization
from medsign.staff.credentials import (
    check_password_rules,
    generated_password,
    hash_password,
    open_totp_secret,
    password_matches,
    seal_totp_secret,
)
from medsign.staff.models import StaffMember, StaffSession
from medsign.staff.schemas import Action, Actor, CreatedStaff, SessionView, StaffRole, allows

SESSION_PURPOSE = "staff-session"
INVITE_PURPOSE = "staff-invite"
SESSION_IDLE = timedelta(hours=12)
SESSION_MAX = timedelta(days=7)
INVITE_TTL = timedelta(days=7)
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
TOTP_ISSUER = "medsign"


def require(actor: Actor, action: Action) -> None:
    """Refuse (403) what ``actor``'s role may not do."""
    if not allows(actor.role, action):
        raise Forbidden(f"The role {actor.role} may not {action.value.replace('_', ' ')}.")


def _member(session: Session, organization_id: str, staff_id: str) -> StaffMember:
    member = session.get(StaffMember, staff_id)
    if member is None or member.organization_id != organization_id:
        raise NotFound(f"No staff member with id {staff_id} in this organization.")
    return member


def _new_member(
    session: Session,
    organization_id: str,
    email: str,
    role: str,
    *,
    branch_id: str | None,
    name: str,
    now: datetime,
) -> StaffMember:
    if session.get(Organization, organization_id) is None:
        raise NotFound(f"No organization with id {organization_id}.")
    email = normalize_email(email).lower()
    staff_role = parse_enum(StaffRole, role, "role")
    branch = resolve_branch(session, organization_id, branch_id) if branch_id else None
    taken = session.scalar(select(StaffMember.id).where(StaffMember.email == email))
    if taken is not None:
        raise Conflict("A staff account with this email already exists.", field="email")
    member = StaffMember(
        organization_id=organization_id,
        branch_id=branch,
        email=email,
        name=name.strip()[:200],
        role=staff_role.value,
        created_at=now,
    )
    session.add(member)
    session.flush()
    return member


def create_staff(
    session: Session,
    organization_id: str,
    email: str,
    role: str,
    *,
    now: datetime,
    branch_id: str | None = None,
    name: str = "",
    actor: str = "admin",
) -> CreatedStaff:
    """Create an account with a generated password (shown once; ``medsign staff create``)."""
    member = _new_member(
        session, organization_id, email, role, branch_id=branch_id, name=name, now=now
    )
    password = generated_password()
    member.password_hash = hash_password(password)
    record(
        session,
        organization_id,
        "staff.created",
        at=now,
        actor=actor,
        data={"staff_id": member.id, "role": member.role, "branch_id": member.branch_id},
    )
    return CreatedStaff(member.id, password)


def invite_staff(
    session: Session,
    keyring: Keyring,
    by: Actor,
    email: str,
    role: str,
    *,
    now: datetime,
    branch_id: str | None = None,
    name: str = "",
) -> tuple[StaffMember, str]:
    """Create an account without a password and return it with its invitation token
    (the person follows the link to set a password; it works once, for a week)."""
    require(by, Action.MANAGE_STAFF)
    if by.branch_id is not None and branch_id != by.branch_id:
        raise Forbidden("A branch's admin invites staff of their own branch only.")
    member = _new_member(
        session, by.organization_id, email, role, branch_id=branch_id, name=name, now=now
    )
    member.invite_expires_at = now + INVITE_TTL
    token = invite_token(keyring, member)
    member.invite_hash = keyring.hash(INVITE_PURPOSE, token)
    # The worker re-derives the link from the ids (the job carries no secret).
    enqueue(session, JobKind.STAFF_INVITE, {"staff_id": member.id}, now=now)
    record(
        session,
        by.organization_id,
        "staff.invited",
        at=now,
        actor=by.audit_name,
        data={"staff_id": member.id, "role": member.role, "branch_id": member.branch_id},
    )
    return member, token


def invite_token(keyring: Keyring, member: StaffMember) -> str:
    """The invitation link's token: derived from the deployment secret, the account and
    the invitation's expiry (a new invitation, a new token), so it is stored only as a
    keyed hash and the email job can rebuild it from the account's id."""
    assert member.invite_expires_at is not None
    return keyring.hash(
        "staff-invite-link", f"{member.id}:{int(member.invite_expires_at.timestamp())}"
    )


def pending_invitation(session: Session, keyring: Keyring, staff_id: str) -> tuple[str, str] | None:
    """(email, token) of a staff member's invitation still waiting to be used."""
    member = session.get(StaffMember, staff_id)
    if member is None or member.invite_hash is None or member.deactivated_at is not None:
        return None
    token = invite_token(keyring, member)
    if not keyring.verify(INVITE_PURPOSE, token, member.invite_hash):
        return None
    return member.email, token


def invitation(session: Session, keyring: Keyring, token: str, *, now: datetime) -> StaffMember:
    """The account an invitation token opens, or LinkExpired."""
    member = session.scalars(
        select(StaffMember).where(StaffMember.invite_hash == keyring.hash(INVITE_PURPOSE, token))
    ).first()
    if (
        member is None
        or member.deactivated_at is not None
        or member.invite_expires_at is None
        or member.invite_expires_at <= now
    ):
        raise LinkExpired("This invitation is no longer valid; ask your admin for a new one.")
    return member


def accept_invitation(
    session: Session, keyring: Keyring, token: str, password: str, *, now: datetime
) -> StaffMember:
    """Set the invited person's password; the link stops working."""
    member = invitation(session, keyring, token, now=now)
    check_password_rules(password)
    member.password_hash = hash_password(password)
    member.invite_hash = None
    member.invite_expires_at = None
    record(
        session,
        member.organization_id,
        "staff.invitation_accepted",
        at=now,
        actor=f"staff:{member.id}",
        data={"staff_id": member.id},
    )
    return member


@dataclass(frozen=True)
class LoginOutcome:
    """The result of a password login. A wrong password is not an exception: its
    failed-attempt count must be committed (the lockout depends on it)."""

    token: str | None = None  # the new session's cookie value
    mfa_pending: bool = False
    error: str | None = None  # "invalid", "locked"


def _open_session(
    session: Session,
    keyring: Keyring,
    member: StaffMember,
    *,
    mfa_pending: bool,
    user_agent: str,
    now: datetime,
) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            staff_id=member.id,
            token_hash=keyring.hash(SESSION_PURPOSE, token),
            mfa_pending=mfa_pending,
            user_agent=user_agent[:200],
            created_at=now,
            last_seen_at=now,
            expires_at=now + (timedelta(minutes=10) if mfa_pending else SESSION_MAX),
        )
    )
    session.flush()
    return token


def login(
    transaction: Callable[[], AbstractContextManager[Session]],
    keyring: Keyring,
    email: str,
    password: str,
    *,
    now: datetime,
    user_agent: str = "",
) -> LoginOutcome:
    """Check an email and password; on success open a new session (pending the TOTP
    code when the account has TOTP). After :data:`MAX_FAILED_LOGINS` wrong passwords
    in a row the account is locked for :data:`LOCKOUT`.

    The argon2 check (tens of milliseconds, on purpose) runs between two short
    transactions, never inside one: on SQLite a transaction that writes holds the
    database's only write lock. The second one locks the account and re-reads it, so
    concurrent wrong guesses are all counted and a password changed meanwhile wins.
    """
    address = email.strip().lower()[:254]
    with transaction() as session:
        found = session.scalars(select(StaffMember).where(StaffMember.email == address)).first()
        seen = None if found is None else (found.id, found.password_hash)
        locked = found is not None and found.locked_until is not None and found.locked_until > now
        usable = found is not None and found.deactivated_at is None and not locked
    matches = password_matches(seen[1] if seen and usable else None, password)
    if seen is None:
        return LoginOutcome(error="invalid")
    with transaction() as session:
        member = session.get(StaffMember, seen[0], with_for_update=True)
        if member is None:
            return LoginOutcome(error="invalid")
        if member.locked_until is not None and member.locked_until > now:
            return LoginOutcome(error="locked")
        if not matches or member.deactivated_at is not None or member.password_hash != seen[1]:
            _count_failure(session, member, now)
            return LoginOutcome(error="invalid")
        member.failed_logins = 0
        member.locked_until = None
        token = _open_session(
            session,
            keyring,
            member,
            mfa_pending=member.totp_enabled,
            user_agent=user_agent,
            now=now,
        )
        record(
            session,
            member.organization_id,
            "staff.login" if not member.totp_enabled else "staff.password_ok",
            at=now,
            actor=f"staff:{member.id}",
            data={"staff_id": member.id},
        )
        return LoginOutcome(token=token, mfa_pending=member.totp_enabled)


def _count_failure(session: Session, member: StaffMember, now: datetime) -> bool:
    """Count one wrong password or code; lock the account at the limit (True then)."""
    member.failed_logins += 1
    if member.failed_logins < MAX_FAILED_LOGINS:
        return False
    member.locked_until = now + LOCKOUT
    member.failed_logins = 0
    record(
        session,
        member.organization_id,
        "staff.locked_out",
        at=now,
        actor=f"staff:{member.id}",
        data={"staff_id": member.id, "until": (now + LOCKOUT).isoformat()},
    )
    return True


def _session_row(
    session: Session, keyring: Keyring, token: str | None, now: datetime
) -> tuple[StaffSession, StaffMember]:
    if not token:
        raise Unauthorized("Log in to use the console.")
    row = session.scalars(
        select(StaffSession).where(StaffSession.token_hash == keyring.hash(SESSION_PURPOSE, token))
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise Unauthorized("The session has ended; log in again.")
    if now - row.last_seen_at > SESSION_IDLE:
        raise Unauthorized("The session was idle too long; log in again.")
    member = session.get(StaffMember, row.staff_id)
    if member is None or member.deactivated_at is not None:
        raise Unauthorized("This account is deactivated.")
    return row, member


def authenticate(session: Session, keyring: Keyring, token: str | None, *, now: datetime) -> Actor:
    """The staff member of a full session (401 otherwise; a session still owing its
    TOTP code is not one)."""
    row, member = _session_row(session, keyring, token, now)
    if row.mfa_pending:
        raise Unauthorized("Enter the code from your authenticator app first.")
    if (now - row.last_seen_at).total_seconds() > 60:
        row.last_seen_at = now  # coarse, so reads do not write on every request
    return Actor(
        staff_id=member.id,
        organization_id=member.organization_id,
        branch_id=member.branch_id,
        role=member.role,
        email=member.email,
        session_id=row.id,
    )


def _totp(keyring: Keyring, member: StaffMember) -> pyotp.TOTP:
    assert member.totp_secret is not None
    return pyotp.TOTP(open_totp_secret(keyring, member.id, member.totp_secret))


def _code_step(keyring: Keyring, member: StaffMember, code: str, now: datetime) -> int | None:
    """The RFC 6238 time step ``code`` is valid for (one step of clock drift either way,
    §5.2), or None; a step already used is refused (no replay)."""
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6 or member.totp_secret is None:
        return None
    totp = _totp(keyring, member)
    step = int(now.timestamp()) // totp.interval
    for candidate in (step, step - 1, step + 1):
        if candidate > member.totp_last_step and secrets.compare_digest(
            totp.generate_otp(candidate), code
        ):
            return candidate
    return None


def complete_mfa(
    session: Session, keyring: Keyring, token: str | None, code: str, *, now: datetime
) -> str | None:
    """Finish a login with the TOTP code: the pending session is replaced by a new full
    one whose token is returned; None for a wrong code (counted toward the lockout)."""
    row, member = _session_row(session, keyring, token, now)
    if not row.mfa_pending:
        raise Conflict("This session is already logged in.")
    if member.locked_until is not None and member.locked_until > now:
        return None
    step = _code_step(keyring, member, code, now)
    if step is None:
        if _count_failure(session, member, now):
            row.revoked_at = now
        return None
    member.totp_last_step = step
    member.failed_logins = 0
    row.revoked_at = now
    new_token = _open_session(
        session, keyring, member, mfa_pending=False, user_agent=row.user_agent, now=now
    )
    record(
        session,
        member.organization_id,
        "staff.login",
        at=now,
        actor=f"staff:{member.id}",
        data={"staff_id": member.id, "totp": True},
    )
    return new_token


def begin_totp(session: Session, keyring: Keyring, actor: Actor) -> str:
    """A new TOTP key for the actor (not yet enabled) and its otpauth:// URI for the QR."""
    member = _member(session, actor.organization_id, actor.staff_id)
    if member.totp_enabled:
        raise Conflict("TOTP is already on; turn it off first to enrol another device.")
    secret = pyotp.random_base32()
    member.totp_secret = seal_totp_secret(keyring, member.id, secret)
    return pyotp.TOTP(secret).provisioning_uri(name=member.email, issuer_name=TOTP_ISSUER)


def totp_uri(session: Session, keyring: Keyring, actor: Actor) -> str | None:
    """The otpauth:// URI of the key being set up (None when there is none)."""
    member = _member(session, actor.organization_id, actor.staff_id)
    if member.totp_secret is None or member.totp_enabled:
        return None
    return _totp(keyring, member).provisioning_uri(name=member.email, issuer_name=TOTP_ISSUER)


def confirm_totp(
    session: Session, keyring: Keyring, actor: Actor, code: str, *, now: datetime
) -> None:
    """Turn TOTP on once the person typed a code from the new key (proof they hold it)."""
    member = _member(session, actor.organization_id, actor.staff_id)
    if member.totp_enabled or member.totp_secret is None:
        raise Conflict("Start the set-up again: there is no key waiting to be confirmed.")
    step = _code_step(keyring, member, code, now)
    if step is None:
        raise InvalidInput("The code does not match; type the current 6 digits.", field="code")
    member.totp_enabled = True
    member.totp_last_step = step
    record(
        session,
        member.organization_id,
        "staff.totp_enabled",
        at=now,
        actor=actor.audit_name,
        data={"staff_id": member.id},
    )


def disable_totp(
    session: Session, keyring: Keyring, actor: Actor, password: str, *, now: datetime
) -> None:
    """Turn TOTP off (the password again, so an unattended session cannot)."""
    member = _member(session, actor.organization_id, actor.staff_id)
    if not password_matches(member.password_hash, password):
        raise InvalidInput("The password is not right.", field="password")
    member.totp_enabled = False
    member.totp_secret = None
    record(
        session,
        member.organization_id,
        "staff.totp_disabled",
        at=now,
        actor=actor.audit_name,
        data={"staff_id": member.id},
    )


def change_password(
    session: Session, actor: Actor, current: str, new: str, *, now: datetime
) -> None:
    """Change one's own password; every other session ends."""
    member = _member(session, actor.organization_id, actor.staff_id)
    if not password_matches(member.password_hash, current):
        raise InvalidInput("The current password is not right.", field="current")
    check_password_rules(new)
    member.password_hash = hash_password(new)
    session.execute(
        update(StaffSession)
        .where(
            StaffSession.staff_id == member.id,
            StaffSession.id != actor.session_id,
            StaffSession.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    record(
        session,
        member.organization_id,
        "staff.password_changed",
        at=now,
        actor=actor.audit_name,
        data={"staff_id": member.id},
    )


def logout(session: Session, keyring: Keyring, token: str | None, *, now: datetime) -> None:
    """End the session of ``token`` (nothing happens for an unknown one)."""
    if not token:
        return
    row = session.scalars(
        select(StaffSession).where(StaffSession.token_hash == keyring.hash(SESSION_PURPOSE, token))
    ).first()
    if row is not None and row.revoked_at is None:
        row.revoked_at = now


def list_sessions(session: Session, actor: Actor, *, now: datetime) -> list[SessionView]:
    """The actor's live sessions, newest first."""
    rows = session.scalars(
        select(StaffSession)
        .where(
            StaffSession.staff_id == actor.staff_id,
            StaffSession.revoked_at.is_(None),
            StaffSession.mfa_pending.is_(False),
            StaffSession.expires_at > now,
        )
        .order_by(StaffSession.created_at.desc())
        .limit(100)
    )
    return [
        SessionView(r.id, r.created_at, r.last_seen_at, r.user_agent, r.id == actor.session_id)
        for r in rows
    ]


def revoke_session(session: Session, actor: Actor, session_id: str, *, now: datetime) -> None:
    """End one of the actor's own sessions."""
    row = session.get(StaffSession, session_id)
    if row is None or row.staff_id != actor.staff_id:
        raise NotFound("No such session of yours.")
    if row.revoked_at is None:
        row.revoked_at = now
        record(
            session,
            actor.organization_id,
            "staff.session_revoked",
            at=now,
            actor=actor.audit_name,
            data={"staff_id": actor.staff_id, "session_id": row.id},
        )


def list_staff(session: Session, actor: Actor) -> list[StaffMember]:
    """The organization's staff (a branch admin: their branch's), by email."""
    require(actor, Action.MANAGE_STAFF)
    query = select(StaffMember).where(StaffMember.organization_id == actor.organization_id)
    if actor.branch_id is not None:
        query = query.where(StaffMember.branch_id == actor.branch_id)
    return list(session.scalars(query.order_by(StaffMember.email).limit(1000)))


def deactivate_staff(session: Session, actor: Actor, staff_id: str, *, now: datetime) -> None:
    """Deactivate an account: it cannot log in and its sessions end at once."""
    require(actor, Action.MANAGE_STAFF)
    member = _member(session, actor.organization_id, staff_id)
    if actor.branch_id is not None and member.branch_id != actor.branch_id:
        raise NotFound(f"No staff member with id {staff_id} in this organization.")
    if member.id == actor.staff_id:
        raise Conflict("You cannot deactivate your own account.")
    if member.deactivated_at is not None:
        return
    member.deactivated_at = now
    member.invite_hash = None
    session.execute(
        update(StaffSession)
        .where(StaffSession.staff_id == member.id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    record(
        session,
        actor.organization_id,
        "staff.deactivated",
        at=now,
        actor=actor.audit_name,
        data={"staff_id": member.id},
    )
