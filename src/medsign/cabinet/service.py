"""Cabinet accounts: login by a one-time code, sessions per device, "log out everywhere".

A cabinet account is a person keyed by one verified contact (an E.164 phone or an email
address, normalized by :mod:`medsign.domain.contacts`). Login codes follow the signing
rules of :mod:`medsign.domain.otp` (keyed hash, 10 minutes, 5 tries, a resend interval
and a per-contact cap); the per-address limit is the web layer's token bucket. Session
tokens live in an HttpOnly cookie and are stored only as their keyed hash
(shared/DESIGN.md "Security floor").
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from medsign.cabinet.models import (
    AttachFailure,
    CabinetAccount,
    CabinetLoginCode,
    CabinetSession,
)
from medsign.domain.contacts import mask_email, mask_phone, normalize_email, normalize_phone
from medsign.domain.otp import (
    ChallengeState,
    OtpRules,
    ascii_digits,
    check_can_send,
    check_challenge_usable,
    check_contact_cap,
    wrong_code_error,
)
from medsign.domain.tokens import Keyring
from medsign.errors import CodeRejected, InvalidInput
from medsign.jobs.outbox import JobKind, enqueue
from medsign.notify.subscriptions import forget_sessions

LOGIN_PURPOSE = "cabinet-login"
SESSION_PURPOSE = "cabinet-session"
CSRF_PURPOSE = "cabinet-csrf"
# A session's last visit is written at most this often (not on every page view).
TOUCH_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class Contact:
    """A normalized phone or email and the channel that reaches it."""

    value: str
    channel: Literal["sms", "email"]

    @property
    def masked(self) -> str:
        """The contact as shown on pages and in evidence."""
        return mask_phone(self.value) if self.channel == "sms" else mask_email(self.value)


def parse_contact(raw: str) -> Contact:
    """A phone (international format) or an email address; InvalidInput otherwise."""
    text = raw.strip()
    if not text:
        raise InvalidInput("Type your phone number or email address.", field="contact")
    try:
        if "@" in text:
            return Contact(normalize_email(text), "email")
        return Contact(normalize_phone(text), "sms")
    except InvalidInput:
        raise InvalidInput(
            "Type a phone number in international format (e.g. +79991234567) or an email address.",
            field="contact",
        ) from None


def _latest_code(session: Session, contact: str, *, lock: bool = False) -> CabinetLoginCode | None:
    stmt = (
        select(CabinetLoginCode)
        .where(CabinetLoginCode.contact == contact)
        .order_by(CabinetLoginCode.sent_at.desc())
        .limit(1)
    )
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalars(stmt).first()


def send_login_code(
    session: Session,
    keyring: Keyring,
    rules: OtpRules,
    contact: Contact,
    *,
    lang: str,
    now: datetime,
) -> CabinetLoginCode:
    """Create a login code for ``contact`` and queue its delivery (TooManyRequests when
    the contact asked moments ago or had its codes for the window)."""
    latest = _latest_code(session, contact.value)
    if latest is not None and latest.used_at is None:  # waiting for it: not again so soon
        check_can_send(rules, 0, latest.sent_at, now)
    count, oldest = session.execute(
        select(func.count(), func.min(CabinetLoginCode.sent_at)).where(
            CabinetLoginCode.contact == contact.value,
            CabinetLoginCode.sent_at > now - rules.contact_window,
        )
    ).one()
    check_contact_cap(rules, int(count or 0), oldest, now)
    code = CabinetLoginCode(
        contact=contact.value,
        channel=contact.channel,
        lang=lang,
        code_hash="",
        sent_at=now,
        attempts=0,
    )
    session.add(code)
    session.flush()
    code.code_hash = keyring.hash(LOGIN_PURPOSE, f"{code.id}:{keyring.otp_code(code.id)}")
    enqueue(session, JobKind.CABINET_CODE, {"code_id": code.id}, now=now)
    return code


@dataclass(frozen=True)
class LoginOutcome:
    """A "Log in" press: the new session's token, or the code error to show.

    A wrong code is returned, not raised, because its attempt count must be committed.
    """

    token: str | None = None
    error: CodeRejected | None = None


def log_in(
    session: Session,
    keyring: Keyring,
    rules: OtpRules,
    contact: Contact,
    code: str,
    *,
    lang: str,
    ip: str | None,
    user_agent: str | None,
    now: datetime,
) -> LoginOutcome:
    """Check the code sent to ``contact``; on success open a session for the account
    (created on first login) and return its token."""
    code = ascii_digits(code)
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return LoginOutcome(error=CodeRejected("Type the 6-digit code from the message."))
    challenge = _latest_code(session, contact.value, lock=True)
    state = (
        ChallengeState(challenge.sent_at, challenge.attempts, challenge.used_at is not None)
        if challenge
        else None
    )
    try:
        check_challenge_usable(rules, state, now)
    except CodeRejected as exc:
        return LoginOutcome(error=exc)
    assert challenge is not None
    if not keyring.verify(LOGIN_PURPOSE, f"{challenge.id}:{code}", challenge.code_hash):
        challenge.attempts += 1
        return LoginOutcome(error=wrong_code_error(rules, challenge.attempts))
    challenge.used_at = now
    account = account_for(session, contact, lang, now)
    token = open_session(
        session,
        keyring,
        account.id,
        method="code",
        login_code_id=challenge.id,
        ip=ip,
        user_agent=user_agent,
        now=now,
    )
    return LoginOutcome(token=token)


def open_session(
    session: Session,
    keyring: Keyring,
    account_id: str,
    *,
    method: Literal["code", "idp"],
    ip: str | None,
    user_agent: str | None,
    now: datetime,
    login_code_id: str | None = None,
    provider_id: str | None = None,
) -> str:
    """Open a session for a device of the account; return its cookie token (kept only
    as its keyed hash). ``method`` "code" names the login code, "idp" the provider."""
    token = secrets.token_urlsafe(32)
    session.add(
        CabinetSession(
            account_id=account_id,
            token_hash=keyring.hash(SESSION_PURPOSE, token),
            login_method=method,
            login_code_id=login_code_id,
            identity_provider_id=provider_id,
            user_agent=(user_agent or "")[:300] or None,
            ip=(ip or "")[:64] or None,
            created_at=now,
            last_seen_at=now,
        )
    )
    session.flush()
    return token


def account_for(session: Session, contact: Contact, lang: str, now: datetime) -> CabinetAccount:
    """The account of ``contact``, created on first login (a concurrent first login of
    the same contact waits on the unique index, then uses the other's row)."""
    found = session.scalars(
        select(CabinetAccount).where(CabinetAccount.contact == contact.value)
    ).first()
    if found is not None:
        return found
    account = CabinetAccount(
        contact=contact.value, channel=contact.channel, lang=lang, created_at=now
    )
    try:
        with session.begin_nested():
            session.add(account)
        return account
    except IntegrityError:
        again = session.scalars(
            select(CabinetAccount).where(CabinetAccount.contact == contact.value)
        ).first()
        if again is None:
            raise
        return again


@dataclass(frozen=True)
class Visit:
    """Who is logged in on this device: the session and its account."""

    session: CabinetSession
    account: CabinetAccount

    @property
    def contact(self) -> Contact:
        """The account's verified contact."""
        channel: Literal["sms", "email"] = "sms" if self.account.channel == "sms" else "email"
        return Contact(self.account.contact, channel)


def current_visit(
    session: Session, keyring: Keyring, token: str | None, *, idle: timedelta, now: datetime
) -> Visit | None:
    """The live session of a cookie's token (None when absent, ended or idle too long)."""
    if not token or len(token) > 100:
        return None
    found = session.scalars(
        select(CabinetSession).where(
            CabinetSession.token_hash == keyring.hash(SESSION_PURPOSE, token),
            CabinetSession.ended_at.is_(None),
        )
    ).first()
    if found is None or found.last_seen_at + idle <= now:
        return None
    if now - found.last_seen_at >= TOUCH_EVERY:
        found.last_seen_at = now
    account = session.get(CabinetAccount, found.account_id)
    assert account is not None
    return Visit(found, account)


def csrf_token(keyring: Keyring, visit: Visit) -> str:
    """The synchronizer token of a session's forms (OWASP CSRF cheat sheet)."""
    return keyring.hash(CSRF_PURPOSE, visit.session.id)[:32]


def live_sessions(session: Session, account_id: str) -> list[CabinetSession]:
    """The account's sessions that have not ended, newest first."""
    return list(
        session.scalars(
            select(CabinetSession)
            .where(CabinetSession.account_id == account_id, CabinetSession.ended_at.is_(None))
            .order_by(CabinetSession.last_seen_at.desc())
        )
    )


def end_session(session: Session, account_id: str, session_id: str, *, now: datetime) -> None:
    """Log one of the account's devices out (another account's session id: no effect);
    its push subscription goes with it."""
    ended = session.scalars(
        update(CabinetSession)
        .where(
            CabinetSession.id == session_id,
            CabinetSession.account_id == account_id,
            CabinetSession.ended_at.is_(None),
        )
        .values(ended_at=now)
        .returning(CabinetSession.id)
    ).all()
    forget_sessions(session, ended)


def end_all_sessions(session: Session, account_id: str, *, now: datetime) -> int:
    """ "Log out everywhere": end every session of the account (and their push
    subscriptions); return how many."""
    ended = session.scalars(
        update(CabinetSession)
        .where(CabinetSession.account_id == account_id, CabinetSession.ended_at.is_(None))
        .values(ended_at=now)
        .returning(CabinetSession.id)
    ).all()
    forget_sessions(session, ended)
    return len(ended)


# Login codes name a contact: kept only while the per-contact cap counts them. Ended
# or idle sessions (with their address and browser) and brute-force records go after
# a month (personal data stays minimal, shared/DESIGN.md "Security floor").
KEEP_CODES = timedelta(days=1)
KEEP_RECORDS = timedelta(days=30)


def purge_stale(session: Session, *, idle: timedelta, now: datetime) -> int:
    """Delete login codes past the contact window, sessions ended or idle a month ago
    and attach failures a month old; return how many rows went."""
    removed = 0
    stale = (CabinetSession.ended_at < now - KEEP_RECORDS) | (
        CabinetSession.last_seen_at < now - idle - KEEP_RECORDS
    )
    forget_sessions(session, session.scalars(select(CabinetSession.id).where(stale)).all())
    for stmt in (
        delete(CabinetLoginCode).where(CabinetLoginCode.sent_at < now - KEEP_CODES),
        delete(CabinetSession).where(stale),
        delete(AttachFailure).where(AttachFailure.at < now - KEEP_RECORDS),
    ):
        removed += int(getattr(session.execute(stmt), "rowcount", 0) or 0)
    return removed
