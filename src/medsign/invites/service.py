"""Pre-visit invites (DOCCOD): the clinic creates a link; a new patient fills in their
card (name, birth date, a phone or email) and consents to personal-data processing; the
card is created with MIS id ``invite-<invite id>`` and the MIS gets it by the webhook
``patient.invite_completed``; staff print the EDO agreement pre-filled with that card.

The consent is the written consent to processing of personal data, health data included,
that 152-FZ art. 9 and 10 ask for before the first visit; its text is kept as shown.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.branches.service import resolve_branch
from medsign.cabinet.service import parse_contact
from medsign.domain.tokens import Keyring
from medsign.errors import Conflict, InvalidInput, LinkExpired, NotFound
from medsign.events.service import emit
from medsign.i18n import t
from medsign.invites.models import PatientInvite
from medsign.invites.schemas import InviteForm, InviteIn, InviteOut
from medsign.organizations.models import Organization
from medsign.patients.models import Patient
from medsign.patients.schemas import PatientIn
from medsign.patients.service import upsert_patient
from medsign.pdf.report import ReportLine, Style, render_report

PURPOSE = "patient-invite"


def create_invite(
    session: Session, keyring: Keyring, organization_id: str, body: InviteIn, *, now: datetime
) -> tuple[PatientInvite, str]:
    """A new invite and its token (shown once; only its keyed hash is stored)."""
    token = secrets.token_urlsafe(32)
    invite = PatientInvite(
        organization_id=organization_id,
        branch_id=resolve_branch(session, organization_id, body.branch_id),
        token_hash=keyring.hash(PURPOSE, token),
        created_at=now,
        expires_at=now + timedelta(days=body.valid_days),
    )
    session.add(invite)
    session.flush()
    record(
        session,
        organization_id,
        "patient.invite_created",
        at=now,
        actor="api",
        data={"invite_id": invite.id},
    )
    return invite, token


def invite_out(
    session: Session, invite: PatientInvite, now: datetime, url: str | None = None
) -> InviteOut:
    """The API shape."""
    patient = session.get(Patient, invite.patient_id) if invite.patient_id else None
    if invite.completed_at is not None:
        status = "completed"
    elif invite.expires_at <= now:
        status = "expired"
    else:
        status = "open"
    return InviteOut(
        id=invite.id,
        status=status,
        url=url,
        expires_at=invite.expires_at,
        completed_at=invite.completed_at,
        patient_mis_id=patient.mis_id if patient else None,
    )


def get_invite(session: Session, organization_id: str, invite_id: str) -> PatientInvite:
    """The organization's invite, or NotFound."""
    invite = session.get(PatientInvite, invite_id)
    if invite is None or invite.organization_id != organization_id:
        raise NotFound("No invite with this id in this organization.")
    return invite


def open_invite(
    session: Session, keyring: Keyring, token: str, *, now: datetime, lock: bool = False
) -> PatientInvite:
    """The invite behind a link that still works (410 otherwise: unknown, expired, used)."""
    query = select(PatientInvite).where(PatientInvite.token_hash == keyring.hash(PURPOSE, token))
    invite = session.scalars(query.with_for_update() if lock else query).first()
    if invite is None or invite.expires_at <= now:
        raise LinkExpired(
            "This invite link does not work (expired or mistyped). Ask the clinic for a new one."
        )
    if invite.completed_at is not None:
        raise LinkExpired("This invite has been filled in already. The clinic has your card.")
    return invite


def complete_invite(
    session: Session,
    keyring: Keyring,
    token: str,
    form: InviteForm,
    *,
    lang: str,
    now: datetime,
) -> Patient:
    """Create the card from the patient's own data (the invite row is locked, so a form
    sent twice at once makes one card); the MIS gets ``patient.invite_completed``."""
    if not form.consent:
        raise InvalidInput(
            "Tick the consent to personal-data processing: the clinic cannot take your "
            "data without it.",
            field="consent",
        )
    if form.birth_date > now.date() or form.birth_date.year < 1900:
        raise InvalidInput("Check the birth date.", field="birth_date")
    contact = parse_contact(form.contact)
    invite = open_invite(session, keyring, token, now=now, lock=True)
    org = session.get(Organization, invite.organization_id)
    assert org is not None
    body = PatientIn(
        mis_id=f"invite-{invite.id}",
        name=form.name,
        birth_date=form.birth_date,
        phone=contact.value if contact.channel == "sms" else None,
        email=contact.value if contact.channel == "email" else None,
    )
    patient, _ = upsert_patient(session, invite.organization_id, body, now=now)
    invite.patient_id = patient.id
    invite.completed_at = now
    invite.consent_text = consent_text(org.name, lang)
    invite.consent_lang = lang
    session.flush()
    record(
        session,
        invite.organization_id,
        "patient.invite_completed",
        at=now,
        actor="patient",
        data={"invite_id": invite.id, "patient_id": patient.id},
    )
    emit(
        session,
        invite.organization_id,
        "patient.invite_completed",
        at=now,
        data={
            "invite_id": invite.id,
            "patient_mis_id": patient.mis_id,
            "name": patient.name,
            "birth_date": form.birth_date.isoformat(),
            "phone": patient.phone,
            "email": patient.email,
            "branch_id": invite.branch_id,
            "personal_data_consent": {
                "at": now.isoformat(),
                "lang": lang,
                "text": invite.consent_text,
            },
        },
    )
    return patient


def consent_text(org_name: str, lang: str) -> str:
    """The consent to personal-data processing the invite page shows."""
    return t("invite_consent", lang, org=org_name)


def edo_agreement_pdf(session: Session, organization_id: str, invite_id: str, lang: str) -> bytes:
    """The EDO agreement (consent to simple electronic signatures) pre-filled with the
    card from the invite, for staff to print and the patient to sign on paper at the
    first visit (DESIGN.md policy: ``edo_agreement`` by idp or a paper original)."""
    invite = get_invite(session, organization_id, invite_id)
    patient = session.get(Patient, invite.patient_id) if invite.patient_id else None
    if patient is None:
        raise Conflict("The patient has not filled in this invite yet.")
    org = session.get(Organization, organization_id)
    assert org is not None
    lines = [
        ReportLine(t("edo_title", lang), Style.TITLE),
        ReportLine(t("edo_parties", lang, org=org.name, name=patient.name)),
        ReportLine(f"{t('invite_name', lang)}: {patient.name}"),
        ReportLine(
            f"{t('invite_birth_date', lang)}: "
            f"{patient.birth_date.isoformat() if patient.birth_date else ''}"
        ),
        ReportLine(f"{t('contact', lang)}: {patient.phone or patient.email or ''}"),
        ReportLine(f"MIS id: {patient.mis_id}", Style.SMALL),
        ReportLine(t("edo_body", lang, org=org.name)),
        ReportLine(t("edo_sign_here", lang)),
    ]
    return render_report(lines, rtl=lang == "fa", title=t("edo_title", lang), lang=lang)
