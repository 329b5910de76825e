"""Attaching a cabinet to a clinic's patient card with a 9-digit code, and detaching.

The MIS asks for a code for a card (full name, birth date and one contact required,
as in the Archimed+ integration); medsign returns it for printing and sends it by the
organization's channel priority through the outbox. The code is derived from the
deployment key and its row id and stored only as a keyed hash; it is single-use,
expires, and a new one replaces the unused ones. Wrong codes typed in a cabinet count
against the account and the client address; past the limit both are locked out for a
while (shared/DESIGN.md "Security floor").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.cabinet.models import (
    AttachCode,
    AttachFailure,
    CabinetAccount,
    CabinetSettings,
    PatientLink,
)
from medsign.db.base import new_id
from medsign.domain.otp import ascii_digits
from medsign.domain.tokens import Keyring
from medsign.errors import Conflict, DomainError, InvalidInput, NotFound, TooManyRequests
from medsign.events.service import emit
from medsign.i18n import t
from medsign.jobs.outbox import JobKind, enqueue
from medsign.notify.outbound import Recipient, organization_channels, queue_message
from medsign.notify.subscriptions import CABINET, Holder, count_for
from medsign.organizations.models import Organization
from medsign.patients.models import Patient
from medsign.patients.service import find_patient, get_patient
from medsign.settings import Settings

ATTACH_PURPOSE = "attach-code"
IP_PURPOSE = "cabinet-ip"
CODE_DIGITS = 9


@dataclass(frozen=True)
class AttachLimits:
    """How attach codes are issued and how many wrong ones a cabinet may type."""

    ttl: timedelta = timedelta(hours=72)
    codes_per_patient_per_day: int = 10
    failures_per_account: int = 5
    failures_per_ip: int = 20
    lockout: timedelta = timedelta(hours=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> AttachLimits:
        """The limits configured in ``settings`` (``MEDSIGN_CABINET_*``)."""
        return cls(
            ttl=timedelta(hours=settings.cabinet_attach_code_ttl_hours),
            codes_per_patient_per_day=settings.cabinet_attach_codes_per_patient_per_day,
            failures_per_account=settings.cabinet_attach_failures_per_account,
            failures_per_ip=settings.cabinet_attach_failures_per_ip,
            lockout=timedelta(minutes=settings.cabinet_attach_lockout_minutes),
        )


def missing_card_fields(patient: Patient) -> list[str]:
    """What the card lacks for an attach code: full name, birth date, one contact."""
    missing = []
    if not patient.name.strip():
        missing.append("name")
    if patient.birth_date is None:
        missing.append("birth_date")
    if not patient.phone and not patient.email:
        missing.append("phone or email")
    return missing


def code_channel(patient: Patient, priority: str) -> str:
    """Where the code goes: the card's own preference, else the organization's
    priority (phone first with email as fallback, or the reverse)."""
    order = ["email", "sms"] if priority == "email_first" else ["sms", "email"]
    if patient.preferred_channel in order:
        order.remove(patient.preferred_channel)
        order.insert(0, patient.preferred_channel)
    for channel in order:
        if (patient.phone if channel == "sms" else patient.email) is not None:
            return channel
    raise AssertionError("a card without a contact gets no code")  # missing_card_fields


def _live_codes(patient_id: str, now: datetime) -> list[ColumnElement[bool]]:
    return [
        AttachCode.patient_id == patient_id,
        AttachCode.used_at.is_(None),
        AttachCode.revoked_at.is_(None),
        AttachCode.expires_at > now,
    ]


def issue_attach_code(
    session: Session,
    keyring: Keyring,
    organization_id: str,
    mis_id: str,
    *,
    limits: AttachLimits,
    now: datetime,
) -> tuple[AttachCode, str]:
    """A new attach code for the card ``mis_id`` (queued to the patient); return the row
    and the code. Earlier unused codes of the card stop working."""
    get_patient(session, organization_id, mis_id)  # 404 for unknown / other orgs' cards
    patient = find_patient(session, organization_id, mis_id, lock=True)  # one issuer at a time
    assert patient is not None
    missing = missing_card_fields(patient)
    if missing:
        raise InvalidInput(
            f"The patient card lacks {', '.join(missing)}: an attach code needs the full "
            "name, the birth date and a phone or email. Update the card with "
            "POST /api/v1/patients first.",
            field=missing[0],
            missing=missing,
        )
    since = now - timedelta(days=1)
    issued, oldest = session.execute(
        select(func.count(), func.min(AttachCode.created_at)).where(
            AttachCode.patient_id == patient.id, AttachCode.created_at > since
        )
    ).one()
    if int(issued or 0) >= limits.codes_per_patient_per_day:
        wait = max(1, math.ceil(((oldest or now) + timedelta(days=1) - now).total_seconds()))
        raise TooManyRequests(
            f"{limits.codes_per_patient_per_day} attach codes were issued for this patient "
            "in the last 24 hours; use the latest one or try again later.",
            retry_after=wait,
        )
    session.execute(update(AttachCode).where(*_live_codes(patient.id, now)).values(revoked_at=now))
    settings = session.get(CabinetSettings, organization_id)
    channel = code_channel(patient, settings.attach_channel_priority if settings else "")
    while True:  # a live code must be unique: it is looked up by its hash alone
        code_id = new_id()
        code = keyring.otp_code(code_id, digits=CODE_DIGITS)
        code_hash = keyring.hash(ATTACH_PURPOSE, code)
        clash = session.scalar(
            select(func.count()).where(
                AttachCode.code_hash == code_hash,
                AttachCode.used_at.is_(None),
                AttachCode.revoked_at.is_(None),
                AttachCode.expires_at > now,
            )
        )
        if not clash:
            break
    row = AttachCode(
        id=code_id,
        organization_id=organization_id,
        patient_id=patient.id,
        code_hash=code_hash,
        channel=channel,
        created_at=now,
        expires_at=now + limits.ttl,
    )
    session.add(row)
    session.flush()
    enqueue(session, JobKind.ATTACH_CODE, {"attach_code_id": row.id}, now=now)
    record(
        session,
        organization_id,
        "patient.attach_code_issued",
        at=now,
        actor="api",
        data={"patient_id": patient.id, "attach_code_id": row.id, "channel": channel},
    )
    return row, code


@dataclass(frozen=True)
class AttachOutcome:
    """The result of an "Attach" press: the new link, or the refusal to show.

    A refusal is returned, not raised, because the failure it records (the brute-force
    count) must be committed.
    """

    link: PatientLink | None = None
    organization_name: str = ""
    error: DomainError | None = None


def _check_lockout(
    session: Session, account_id: str, ip_hash: str, limits: AttachLimits, now: datetime
) -> None:
    since = now - limits.lockout
    for column, value, limit in (
        (AttachFailure.account_id, account_id, limits.failures_per_account),
        (AttachFailure.ip_hash, ip_hash, limits.failures_per_ip),
    ):
        count, oldest = session.execute(
            select(func.count(), func.min(AttachFailure.at)).where(
                column == value, AttachFailure.at > since
            )
        ).one()
        if int(count or 0) >= limit:
            wait = max(1, math.ceil(((oldest or now) + limits.lockout - now).total_seconds()))
            raise TooManyRequests(
                "Too many wrong attach codes. Try again in "
                f"{math.ceil(wait / 60)} min, or ask the clinic for a new code.",
                retry_after=wait,
            )


def _refusal(code: AttachCode | None, now: datetime) -> tuple[str, DomainError]:
    if code is None:
        return "wrong", InvalidInput(
            "This attach code is not right. Check the 9 digits in the clinic's message.",
            field="code",
        )
    if code.used_at is not None:
        return "used", Conflict(
            "This attach code was already used. Ask the clinic for a new one.", field="code"
        )
    if code.revoked_at is not None:
        return "replaced", InvalidInput(
            "This attach code was replaced by a newer one or withdrawn by the clinic. "
            "Use the latest code you received.",
            field="code",
        )
    return "expired", InvalidInput(
        "This attach code has expired. Ask the clinic for a new one.", field="code"
    )


def attach(
    session: Session,
    keyring: Keyring,
    account: CabinetAccount,
    raw_code: str,
    *,
    ip: str | None,
    limits: AttachLimits,
    now: datetime,
    cabinet_url: str,
) -> AttachOutcome:
    """Attach ``account`` to the card an attach code was issued for; the patient is
    told so (:func:`_confirm`), with a link to ``cabinet_url``."""
    ip_hash = keyring.hash(IP_PURPOSE, ip or "unknown")
    _check_lockout(session, account.id, ip_hash, limits, now)
    digits = ascii_digits(raw_code)
    if not (digits.isascii() and digits.isdigit() and len(digits) == CODE_DIGITS):
        return AttachOutcome(
            error=InvalidInput("Type the 9-digit attach code from the clinic.", field="code")
        )
    candidates = list(
        session.scalars(
            select(AttachCode)
            .where(AttachCode.code_hash == keyring.hash(ATTACH_PURPOSE, digits))
            .order_by(AttachCode.created_at.desc())
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    usable = [
        c for c in candidates if c.used_at is None and c.revoked_at is None and c.expires_at > now
    ]
    if not usable:
        mine = [
            c
            for c in candidates
            if c.used_by == account.id
            and (link := live_link_of_patient(session, c.patient_id)) is not None
            and link.account_id == account.id
        ]
        if mine:  # the same code pressed twice: the first press attached
            return AttachOutcome(
                error=Conflict("You are already attached to this clinic.", field="code")
            )
        reason, error = _refusal(candidates[0] if candidates else None, now)
        session.add(AttachFailure(account_id=account.id, ip_hash=ip_hash, reason=reason, at=now))
        if candidates:
            record(
                session,
                candidates[0].organization_id,
                "patient.attach_refused",
                at=now,
                actor=f"cabinet:{account.id}",
                data={"attach_code_id": candidates[0].id, "reason": reason},
            )
        return AttachOutcome(error=error)
    code = usable[0]
    link = _link(session, account, code, now, cabinet_url)
    org = session.get(Organization, code.organization_id)
    return AttachOutcome(link=link, organization_name=org.name if org else "")


def _link(
    session: Session, account: CabinetAccount, code: AttachCode, now: datetime, cabinet_url: str
) -> PatientLink:
    """Use the code and link its card to the account (a card linked to another cabinet
    moves to this one: re-attaching with a new code)."""
    patient = session.get(Patient, code.patient_id)
    assert patient is not None
    current = live_link_of_patient(session, patient.id, lock=True)
    if current is not None:
        if current.account_id == account.id:
            code.used_at, code.used_by = now, account.id
            return current
        _end_link(session, current, by="reattach", now=now)
    code.used_at, code.used_by = now, account.id
    link = PatientLink(
        account_id=account.id,
        organization_id=code.organization_id,
        patient_id=patient.id,
        attach_code_id=code.id,
        attached_at=now,
    )
    try:
        with session.begin_nested():
            session.add(link)
    except IntegrityError:
        raise Conflict("This card was attached a moment ago. Reload the page.") from None
    record(
        session,
        code.organization_id,
        "patient.attached",
        at=now,
        actor=f"cabinet:{account.id}",
        data={"patient_id": patient.id, "link_id": link.id, "attach_code_id": code.id},
    )
    emit(
        session,
        code.organization_id,
        "patient.attached",
        at=now,
        data={"patient_mis_id": patient.mis_id, "attached_at": now.isoformat()},
    )
    _confirm(session, account, link, cabinet_url, now)
    return link


def _confirm(
    session: Session, account: CabinetAccount, link: PatientLink, cabinet_url: str, now: datetime
) -> None:
    """Confirm the attachment to the patient on the organization's channels (push first
    where it lists push: the cabinet's devices with notifications on), except SMS: the
    patient sees the confirmation on screen already, so a paid message would only
    repeat it. Nothing is queued when no such channel can reach them (no dead letter)."""
    patient = session.get(Patient, link.patient_id)
    reachable = {
        "push": count_for(session, Holder(CABINET, account.id)) > 0,
        "email": bool(patient and patient.email),
    }
    channels = [
        c
        for c in organization_channels(session, link.organization_id)
        if c != "sms" and reachable.get(c, False)
    ]
    org = session.get(Organization, link.organization_id)
    if not channels or org is None:
        return
    queue_message(
        session,
        organization_id=link.organization_id,
        recipient=Recipient(patient_id=link.patient_id),
        subject=org.name,
        text=t("attached_to", account.lang, org=org.name),
        channels=channels,
        idempotency_key=f"attached:{link.id}",
        now=now,
        event="patient.attached",
        link=cabinet_url,
    )


def live_link_of_patient(
    session: Session, patient_id: str, *, lock: bool = False
) -> PatientLink | None:
    """The card's live link, if it is attached."""
    stmt = select(PatientLink).where(
        PatientLink.patient_id == patient_id, PatientLink.detached_at.is_(None)
    )
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalars(stmt).first()


def live_links(session: Session, account_id: str) -> list[tuple[PatientLink, Organization]]:
    """The account's live links with their organizations, by organization name."""
    rows = session.execute(
        select(PatientLink, Organization)
        .join(Organization, Organization.id == PatientLink.organization_id)
        .where(PatientLink.account_id == account_id, PatientLink.detached_at.is_(None))
        .order_by(Organization.name, PatientLink.attached_at)
    ).all()
    return [(link, org) for link, org in rows]


def _end_link(session: Session, link: PatientLink, *, by: str, now: datetime) -> None:
    link.detached_at = now
    link.detached_by = by
    patient = session.get(Patient, link.patient_id)
    assert patient is not None
    record(
        session,
        link.organization_id,
        "patient.detached",
        at=now,
        actor="api" if by in ("mis", "staff") else f"cabinet:{link.account_id}",
        data={"patient_id": patient.id, "link_id": link.id, "by": by},
    )
    emit(
        session,
        link.organization_id,
        "patient.detached",
        at=now,
        data={"patient_mis_id": patient.mis_id, "by": by},
    )


def detach_by_clinic(
    session: Session, organization_id: str, mis_id: str, *, by: str, now: datetime
) -> None:
    """The MIS deleted the card (or staff detach it): end its link and withdraw its
    unused codes; NotFound when there is neither."""
    patient = get_patient(session, organization_id, mis_id)
    withdrawn = session.execute(
        update(AttachCode).where(*_live_codes(patient.id, now)).values(revoked_at=now)
    )
    link = live_link_of_patient(session, patient.id, lock=True)
    if link is None:
        if not getattr(withdrawn, "rowcount", 0):
            raise NotFound(f"The patient {mis_id} is not attached to a cabinet.")
        return
    _end_link(session, link, by=by, now=now)


def detach_by_patient(session: Session, account_id: str, link_id: str, *, now: datetime) -> str:
    """The patient detaches from a clinic in the cabinet; return the clinic's name."""
    link = session.scalars(
        select(PatientLink)
        .where(
            PatientLink.id == link_id,
            PatientLink.account_id == account_id,
            PatientLink.detached_at.is_(None),
        )
        .with_for_update()
    ).first()
    if link is None:
        raise NotFound("You are not attached to this clinic.")
    _end_link(session, link, by="patient", now=now)
    org = session.get(Organization, link.organization_id)
    return org.name if org else ""
