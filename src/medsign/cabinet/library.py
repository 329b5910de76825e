"""The patient's documents in the cabinet: what attached clinics sent them, signing
with method ``cabinet``, the clinics' user agreements, and files shared with a clinic.

A signature made here is a simple electronic signature (63-FZ art. 9): the login by a
one-time code proves control of the verified contact; the evidence names the cabinet
session it was made in (shared/DESIGN.md "Domain: Evidence").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.cabinet.models import (
    AgreementAcceptance,
    CabinetAccount,
    CabinetSettings,
    PatientLink,
    SharedFile,
)
from medsign.cabinet.service import Visit
from medsign.documents.models import Document
from medsign.documents.service import PreparedDocument, create_document
from medsign.domain.policy import DocumentKind, Method, Role, check_method
from medsign.domain.tokens import Keyring
from medsign.envelopes.models import Envelope, Signer
from medsign.envelopes.policy_context import policy_context
from medsign.envelopes.queries import lock_envelope_by_id
from medsign.envelopes.schemas import EnvelopeIn, SignerIn
from medsign.envelopes.service import create_envelope
from medsign.envelopes.signing import (
    Client,
    LinkState,
    LinkView,
    _require_can_sign,
    check_shown,
    evidence_of,
    record_signature,
    signer_view,
)
from medsign.errors import Conflict, NotFound
from medsign.events.service import emit
from medsign.i18n import LANGS, t
from medsign.organizations.models import Organization
from medsign.patients.models import Patient
from medsign.storage.ports import BlobStore

LIST_LIMIT = 200


@dataclass(frozen=True)
class CabinetDocument:
    """One document a clinic sent the patient, as the cabinet lists it."""

    view: LinkView
    # For a signer with another method (a code by SMS/email, an identity provider): the
    # signing page of their link, where that method is carried out.
    link_token: str | None

    @property
    def can_sign(self) -> bool:
        """The patient may sign it now."""
        return self.view.state is LinkState.CAN_SIGN


def _patients_signers(account: CabinetAccount) -> ColumnElement[bool]:
    """Patient signers this account may see: those of its attached cards, and, in an
    attached clinic, those the clinic addressed to the account's verified contact without
    naming a card (a contact alone, in a clinic not attached, shows nothing)."""
    live = (PatientLink.account_id == account.id, PatientLink.detached_at.is_(None))
    cards = select(PatientLink.patient_id).where(*live)
    clinics = select(PatientLink.organization_id).where(*live)
    contact = Signer.phone if account.channel == "sms" else Signer.email
    return and_(
        Signer.role == Role.PATIENT.value,
        or_(
            Signer.patient_id.in_(cards),
            and_(
                Signer.patient_id.is_(None),
                Envelope.organization_id.in_(clinics),
                contact == account.contact,
            ),
        ),
    )


def documents_for(
    session: Session, keyring: Keyring, account: CabinetAccount, now: datetime
) -> list[CabinetDocument]:
    """Every envelope of an attached clinic with the patient as a signer, newest first."""
    # Documents and organizations come in the same query, so signer_view finds them in
    # the session's identity map (no query per row).
    rows = session.execute(
        select(Signer, Envelope, Document, Organization)
        .join(Envelope, Envelope.id == Signer.envelope_id)
        .join(Document, Document.id == Envelope.document_id)
        .join(Organization, Organization.id == Envelope.organization_id)
        .where(_patients_signers(account))
        .order_by(Envelope.created_at.desc())
        .limit(LIST_LIMIT)
    ).all()
    found = []
    for signer, env, _doc, _org in rows:
        view = signer_view(session, signer, env, now)
        token = (
            keyring.link_token(signer.id, signer.link_version)
            if signer.method != Method.CABINET.value
            else None
        )
        found.append(CabinetDocument(view, token))
    return found


def own_signer(session: Session, account: CabinetAccount, signer_id: str) -> Signer:
    """The patient signer ``signer_id`` if the account may see it, else NotFound
    (another patient's or another clinic's document looks the same)."""
    signer = session.scalars(
        select(Signer)
        .join(Envelope, Envelope.id == Signer.envelope_id)
        .where(Signer.id == signer_id, _patients_signers(account))
    ).first()
    if signer is None:
        raise NotFound("There is no such document in your cabinet.")
    return signer


def _sign_as_patient(
    session: Session,
    visit: Visit,
    env: Envelope,
    signer: Signer,
    *,
    shown_sha256: str | None,
    client: Client,
    lang: str,
    now: datetime,
) -> None:
    """Record a method ``cabinet`` signature; the caller holds the envelope's lock."""
    view = signer_view(session, signer, env, now)
    _require_can_sign(view)
    if signer.method != Method.CABINET.value:
        raise Conflict(
            "This document is signed with the code the clinic sends to your phone or "
            "email: open it with its “Sign” button and follow the steps there."
        )
    check_method(
        DocumentKind(view.document.kind),
        Method.CABINET,
        Role(signer.role),
        policy_context(session, env.organization_id, signer.patient_id, now),
    )
    shown = check_shown(session, env, shown_sha256)
    cab = visit.session
    how: dict[str, Any] = {
        "method": Method.CABINET.value,
        "cabinet_session": {
            "id": cab.id,
            "login_method": cab.login_method,
            "logged_in_at": cab.created_at.isoformat(),
            "contact": visit.contact.masked,
            "channel": visit.account.channel,
        },
    }
    record_signature(
        session,
        env,
        signer,
        evidence_of(view, shown, client, now, lang=lang, consent_text=t("consent", lang), how=how),
        {"method": Method.CABINET.value, "sha256_shown": shown, "cabinet_session_id": cab.id},
        now=now,
    )


def sign_document(
    session: Session,
    visit: Visit,
    signer_id: str,
    *,
    shown_sha256: str | None,
    client: Client,
    lang: str,
    now: datetime,
) -> Signer:
    """The patient presses "Sign" on a document awaiting them in the cabinet."""
    signer = own_signer(session, visit.account, signer_id)
    env = lock_envelope_by_id(session, signer.envelope_id)
    assert env is not None
    _sign_as_patient(
        session, visit, env, signer, shown_sha256=shown_sha256, client=client, lang=lang, now=now
    )
    return signer


# -- user agreements ----------------------------------------------------------------


@dataclass(frozen=True)
class PendingAgreement:
    """A clinic's user agreement the patient has not accepted yet."""

    organization: Organization
    document: Document
    patient: Patient


def _known_cards(session: Session, visit: Visit) -> list[Patient]:
    """Cards of the account's attached clinics, and cards whose contact is the verified
    contact (the clinic knows this person, so its agreement is shown at first login)."""
    linked = select(PatientLink.patient_id).where(
        PatientLink.account_id == visit.account.id, PatientLink.detached_at.is_(None)
    )
    contact_column = Patient.phone if visit.account.channel == "sms" else Patient.email
    return list(
        session.scalars(
            select(Patient)
            .where(or_(Patient.id.in_(linked), contact_column == visit.account.contact))
            .order_by(Patient.created_at)
        )
    )


def pending_agreements(session: Session, visit: Visit) -> list[PendingAgreement]:
    """The user agreements to show with "Accept", one per clinic."""
    pending: dict[str, PendingAgreement] = {}
    for patient in _known_cards(session, visit):
        if patient.organization_id in pending:
            continue
        settings = session.get(CabinetSettings, patient.organization_id)
        if settings is None or settings.user_agreement_document_id is None:
            continue
        accepted = session.scalar(
            select(AgreementAcceptance.id).where(
                AgreementAcceptance.organization_id == patient.organization_id,
                AgreementAcceptance.account_id == visit.account.id,
                AgreementAcceptance.document_id == settings.user_agreement_document_id,
            )
        )
        if accepted is not None:
            continue
        doc = session.get(Document, settings.user_agreement_document_id)
        org = session.get(Organization, patient.organization_id)
        assert doc is not None and org is not None
        pending[org.id] = PendingAgreement(org, doc, patient)
    return sorted(pending.values(), key=lambda p: p.organization.name)


def pending_agreement(session: Session, visit: Visit, organization_id: str) -> PendingAgreement:
    """The clinic's agreement awaiting this patient, or NotFound."""
    for item in pending_agreements(session, visit):
        if item.organization.id == organization_id:
            return item
    raise NotFound("There is no agreement of this clinic for you to accept.")


def accept_agreement(
    session: Session,
    keyring: Keyring,
    visit: Visit,
    organization_id: str,
    *,
    client: Client,
    lang: str,
    ttl: timedelta,
    now: datetime,
) -> Envelope:
    """Accept a clinic's user agreement: an envelope of kind ``user_agreement`` signed
    with method ``cabinet`` now, sealed by the seal job and reported to the MIS by the
    usual webhooks (envelope.signed, envelope.completed)."""
    item = pending_agreement(session, visit, organization_id)
    contact = visit.contact
    env = create_envelope(
        session,
        keyring,
        organization_id,
        EnvelopeIn(
            document_id=item.document.id,
            signers=[
                SignerIn.model_validate(
                    {
                        "role": Role.PATIENT.value,
                        "name": item.patient.name or contact.masked,
                        "method": Method.CABINET.value,
                        "patient_mis_id": item.patient.mis_id,
                        contact.channel.replace("sms", "phone"): contact.value,
                        "lang": lang if lang in LANGS else None,
                    }
                )
            ],
        ),
        now=now,
        default_ttl=ttl,
        default_lang=lang,
    )
    try:
        with session.begin_nested():
            session.add(
                AgreementAcceptance(
                    organization_id=organization_id,
                    account_id=visit.account.id,
                    document_id=item.document.id,
                    envelope_id=env.id,
                    accepted_at=now,
                )
            )
    except IntegrityError:
        raise Conflict("You accepted this agreement a moment ago.") from None
    _sign_as_patient(
        session, visit, env, env.signers[0], shown_sha256=None, client=client, lang=lang, now=now
    )
    return env


# -- files shared with a clinic -----------------------------------------------------


def share_file(
    session: Session,
    files: BlobStore,
    visit: Visit,
    link_id: str,
    prepared: PreparedDocument,
    *,
    now: datetime,
) -> SharedFile:
    """Give an attached clinic a file (already through intake); the clinic gets the
    ``patient.file_shared`` webhook and fetches it with ``GET /api/v1/documents/{id}/pdf``."""
    link = session.scalars(
        select(PatientLink).where(
            PatientLink.id == link_id,
            PatientLink.account_id == visit.account.id,
            PatientLink.detached_at.is_(None),
        )
    ).first()
    if link is None:
        raise NotFound("Choose one of the clinics you are attached to.", field="clinic")
    doc = create_document(session, files, link.organization_id, prepared=prepared, now=now)
    shared = SharedFile(
        organization_id=link.organization_id,
        patient_id=link.patient_id,
        account_id=visit.account.id,
        document_id=doc.id,
        created_at=now,
    )
    session.add(shared)
    session.flush()
    patient = session.get(Patient, link.patient_id)
    assert patient is not None
    record(
        session,
        link.organization_id,
        "patient.file_shared",
        at=now,
        actor=f"cabinet:{visit.account.id}",
        data={"patient_id": patient.id, "document_id": doc.id, "shared_file_id": shared.id},
    )
    emit(
        session,
        link.organization_id,
        "patient.file_shared",
        at=now,
        data={
            "patient_mis_id": patient.mis_id,
            "document_id": doc.id,
            "shared_file_id": shared.id,
            "title": doc.title,
        },
    )
    return shared


def shared_files(session: Session, account_id: str) -> list[tuple[SharedFile, Document, str]]:
    """What the patient shared, newest first, with each document and clinic name."""
    rows = session.execute(
        select(SharedFile, Document, Organization.name)
        .join(Document, Document.id == SharedFile.document_id)
        .join(Organization, Organization.id == SharedFile.organization_id)
        .where(SharedFile.account_id == account_id)
        .order_by(SharedFile.created_at.desc())
        .limit(LIST_LIMIT)
    ).all()
    return [(s, d, name) for s, d, name in rows]
