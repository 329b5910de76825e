"""Logging in to the cabinet through an identity provider, and the identities linked
to cabinet accounts (the ``cabinet_login`` and ``cabinet_link`` purposes of
identity.trip, which holds the protocol steps shared with signing).

Who the login is (docs/cabinet.md "Logging in through an identity provider"):
1. an identity (issuer, subject) linked to an account logs in to that account;
2. else a phone or email the provider vouches for as verified (OIDC Core §5.1
   ``phone_number`` + ``phone_number_verified``, ``email`` + ``email_verified``;
   ESIA's verified mobile and email) names the account, as a code sent there would:
   the account of that contact, created on first login; the identity is then linked;
3. else nothing: the patient is asked to log in once with a code and link the
   provider from the cabinet.
A logged-in patient links a provider (a fresh login there) and may unlink it. The
unique (issuer, subject) decides races: two accounts never hold one identity.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.cabinet.models import CabinetAccount, CabinetIdentity, CabinetSession
from medsign.cabinet.service import Contact, Visit, account_for, open_session
from medsign.domain.contacts import normalize_email, normalize_phone
from medsign.domain.tokens import Keyring
from medsign.errors import Conflict, InvalidInput, LoginRejected, NotFound
from medsign.identity import trip
from medsign.identity.models import IdentityProvider, IdpLogin
from medsign.identity.service import cabinet_provider
from medsign.identity.trip import Claimed, Ended, Identity, Purpose


def start(
    session: Session,
    keyring: Keyring,
    provider_id: str,
    *,
    host_organization_id: str | None,
    visit: Visit | None,
    public_url: str,
    lang: str,
    now: datetime,
) -> trip.Started:
    """Begin a cabinet login (no ``visit``) or a link to the logged-in account; the
    provider must be one the cabinet offers on this host (NotFound)."""
    provider = cabinet_provider(session, provider_id, host_organization_id)
    purpose = Purpose.CABINET_LOGIN if visit is None else Purpose.CABINET_LINK
    account_id = visit.account.id if visit else None
    started = trip.begin(
        session,
        keyring,
        provider,
        purpose,
        public_url=public_url,
        lang=lang,
        now=now,
        account_id=account_id,
        cabinet_session_id=visit.session.id if visit else None,
    )
    record(
        session,
        provider.organization_id,
        "cabinet.idp_started",
        at=now,
        actor=f"cabinet:{account_id}" if account_id else "cabinet",
        data={"purpose": purpose.value, "provider_id": provider.id, "login_id": started.login_id},
    )
    return started


def vouched_contacts(claims: dict[str, Any]) -> list[Contact]:
    """The phone and email the provider says it verified, normalized; a value that is
    not a phone or an address is left out (never trusted half-way)."""
    found: list[Contact] = []
    phone, email = claims.get("phone_number"), claims.get("email")
    if claims.get("phone_number_verified") is True and isinstance(phone, str):
        with contextlib.suppress(InvalidInput):
            found.append(Contact(normalize_phone(phone), "sms"))
    if claims.get("email_verified") is True and isinstance(email, str):
        with contextlib.suppress(InvalidInput):
            found.append(Contact(normalize_email(email), "email"))
    return found


def _owner(session: Session, issuer: str, subject: str) -> str | None:
    return session.scalar(
        select(CabinetIdentity.account_id).where(
            CabinetIdentity.issuer == issuer, CabinetIdentity.subject == subject
        )
    )


def _link(session: Session, account_id: str, claimed: Claimed, subject: str, now: datetime) -> str:
    """Link (issuer, subject) to ``account_id`` unless it is linked already; return the
    account that holds it. A concurrent link of the same identity waits on the unique
    constraint and loses to the one that committed first."""
    owner = _owner(session, claimed.issuer, subject)
    if owner is not None:
        return owner
    row = CabinetIdentity(
        account_id=account_id,
        provider_id=claimed.provider_id,
        issuer=claimed.issuer,
        subject=subject,
        linked_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
        return account_id
    except IntegrityError:
        owner = _owner(session, claimed.issuer, subject)
        if owner is None:
            raise
        return owner


@dataclass(frozen=True)
class LoggedIn:
    """A cabinet login through a provider succeeded: the new session's token."""

    token: str
    account_id: str


@dataclass(frozen=True)
class Linked:
    """The identity is linked to the logged-in account (``already``: it was)."""

    provider_name: str
    already: bool = False


def _audit(
    session: Session, claimed: Claimed, action: str, account_id: str, now: datetime, **data: Any
) -> None:
    record(
        session,
        claimed.organization_id,
        action,
        at=now,
        actor=f"cabinet:{account_id}",
        data={
            "provider_id": claimed.provider_id,
            "login_id": claimed.login_id,
            "account_id": account_id,
            **data,
        },
    )


def finish(
    session: Session,
    keyring: Keyring,
    claimed: Claimed,
    identity: Identity,
    *,
    ip: str | None,
    user_agent: str | None,
    now: datetime,
) -> LoggedIn | Linked | Ended:
    """Log in or link, or record why not (the end of trip step 3)."""
    login = session.get(IdpLogin, claimed.login_id)
    assert login is not None
    if claimed.purpose == Purpose.CABINET_LINK:
        return _finish_link(session, login, claimed, identity, now)
    account_id = _owner(session, claimed.issuer, identity.subject)
    how = "identity"
    if account_id is None:
        contacts = vouched_contacts(identity.claims)
        if not contacts:
            trip.fail(session, login, "no-verified-contact", now)
            return _ended(
                claimed,
                LoginRejected(
                    f"{claimed.provider_name} did not tell us a verified phone or email, so we "
                    "cannot tell which cabinet is yours. Log in once with a code, then link "
                    f"{claimed.provider_name} on the page “Devices”.",
                    reason="no-verified-contact",
                    provider=claimed.provider_name,
                ),
            )
        account = _existing(session, contacts) or account_for(
            session, contacts[0], claimed.lang, now
        )
        account_id = _link(session, account.id, claimed, identity.subject, now)
        how = "contact"
    login.outcome = "logged-in"
    token = open_session(
        session,
        keyring,
        account_id,
        method="idp",
        provider_id=claimed.provider_id,
        ip=ip,
        user_agent=user_agent,
        now=now,
    )
    _audit(session, claimed, "cabinet.idp_login", account_id, now, by=how)
    return LoggedIn(token, account_id)


def _existing(session: Session, contacts: list[Contact]) -> CabinetAccount | None:
    for contact in contacts:
        found = session.scalars(
            select(CabinetAccount).where(CabinetAccount.contact == contact.value)
        ).first()
        if found is not None:
            return found
    return None


def _ended(claimed: Claimed, error: LoginRejected | Conflict) -> Ended:
    return Ended(error, None, claimed.lang, claimed.purpose)


def _finish_link(
    session: Session,
    login: IdpLogin,
    claimed: Claimed,
    identity: Identity,
    now: datetime,
) -> Linked | Ended:
    account_id = claimed.account_id
    assert account_id is not None
    started_from = session.get(CabinetSession, claimed.cabinet_session_id or "")
    # The session that asked for the link must still be live: a device logged out
    # meanwhile ("log out everywhere" after a loss) cannot add a way in.
    if started_from is None or started_from.ended_at is not None:
        trip.fail(session, login, "session-ended", now)
        return _ended(
            claimed,
            LoginRejected(
                "You are no longer logged in to the cabinet on this device. Log in and link "
                "the provider again.",
                reason="session-ended",
            ),
        )
    before = _owner(session, claimed.issuer, identity.subject)
    owner = before or _link(session, account_id, claimed, identity.subject, now)
    if owner != account_id:
        trip.fail(session, login, "identity-taken", now)
        return _ended(
            claimed,
            Conflict(
                f"This {claimed.provider_name} login is already linked to another cabinet. "
                "Log in to that cabinet and unlink it there first, or use another login.",
                reason="identity-taken",
                provider=claimed.provider_name,
            ),
        )
    login.outcome = "linked"
    _audit(session, claimed, "cabinet.idp_linked", account_id, now, already=before is not None)
    return Linked(claimed.provider_name, already=before is not None)


@dataclass(frozen=True)
class LinkedIdentity:
    """An identity linked to the account, as the devices page lists it."""

    id: str
    provider_name: str
    linked_at: datetime


def linked_identities(session: Session, account_id: str) -> list[LinkedIdentity]:
    """The account's linked identities, oldest first (no subject: it is the provider's
    identifier, not something the patient needs to read)."""
    rows = session.execute(
        select(CabinetIdentity, IdentityProvider.name)
        .join(IdentityProvider, IdentityProvider.id == CabinetIdentity.provider_id)
        .where(CabinetIdentity.account_id == account_id)
        .order_by(CabinetIdentity.linked_at, CabinetIdentity.id)
    ).all()
    return [LinkedIdentity(row.id, name, row.linked_at) for row, name in rows]


def unlink(session: Session, account_id: str, identity_id: str, *, now: datetime) -> str:
    """Unlink one of the account's identities (NotFound for another's); return the
    provider's name. The account keeps its contact, so a code still logs in."""
    row = session.scalars(
        select(CabinetIdentity).where(
            CabinetIdentity.id == identity_id, CabinetIdentity.account_id == account_id
        )
    ).first()
    if row is None:
        raise NotFound("This login is not linked to your cabinet.")
    provider = session.get(IdentityProvider, row.provider_id)
    assert provider is not None
    session.execute(delete(CabinetIdentity).where(CabinetIdentity.id == row.id))
    record(
        session,
        provider.organization_id,
        "cabinet.idp_unlinked",
        at=now,
        actor=f"cabinet:{account_id}",
        data={"provider_id": provider.id, "account_id": account_id},
    )
    return provider.name
