"""Online visits: booking one requires the telemedicine consent signed through an
identity provider (DESIGN.md policy: ``telemedicine_consent`` with ``idp`` or a qualified
signature, after order 1051n of 12 Nov 2021 for informed consent; ONDOC's telemedicine
booking, shared/seeds/README.md).

The consent is an ordinary envelope: one patient signer of method ``idp`` naming the
card's name and birth date, so the identity provider's login must match the card
(medsign.identity.login). The MIS receives it like every envelope (``envelope.signed``,
``envelope.completed``, the signed PDF) and the appointment's ``appointment.created``
names it (``telemedicine_consent_envelope_id``). One signed consent per card and clinic
serves later online bookings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from medsign.branches.service import require_organization_scope
from medsign.documents.service import get_document
from medsign.domain.policy import DocumentKind, Method, Role
from medsign.domain.states import EnvelopeStatus, SignerStatus
from medsign.domain.tokens import Keyring
from medsign.envelopes.models import Envelope, Signer
from medsign.envelopes.schemas import EnvelopeIn, SignerIn
from medsign.envelopes.service import create_envelope
from medsign.errors import Conflict, InvalidInput
from medsign.identity.models import IdentityProvider
from medsign.patients.models import Patient
from medsign.schedule.models import TelemedicineSettings
from medsign.schedule.schemas import TelemedicineIn, TelemedicineOut


def set_telemedicine(
    session: Session, organization_id: str, body: TelemedicineIn, *, now: datetime
) -> TelemedicineOut:
    """Name the consent document and the identity provider of online visits (422 for a
    document of another kind or a provider of another organization)."""
    require_organization_scope("change the telemedicine settings")
    doc = get_document(session, organization_id, body.consent_document_id)
    if doc.kind != DocumentKind.TELEMEDICINE_CONSENT.value:
        raise InvalidInput(
            f"The consent must be a document of kind telemedicine_consent, not {doc.kind}.",
            field="consent_document_id",
        )
    provider = session.get(IdentityProvider, body.identity_provider_id)
    if provider is None or provider.organization_id != organization_id:
        raise InvalidInput(
            "No identity provider with this id in this organization "
            "(register one with POST /api/v1/identity-providers).",
            field="identity_provider_id",
        )
    row = session.get(TelemedicineSettings, organization_id, with_for_update=True)
    if row is None:
        row = TelemedicineSettings(organization_id=organization_id)
        session.add(row)
    row.consent_document_id = doc.id
    row.identity_provider_id = provider.id
    row.updated_at = now
    session.flush()
    return telemedicine_out(row)


def telemedicine_out(row: TelemedicineSettings) -> TelemedicineOut:
    """The API shape."""
    return TelemedicineOut(
        consent_document_id=row.consent_document_id,
        identity_provider_id=row.identity_provider_id,
        updated_at=row.updated_at,
    )


def required_settings(session: Session, organization_id: str) -> TelemedicineSettings:
    """The clinic's settings, or a 409 saying online visits are not set up."""
    row = session.get(TelemedicineSettings, organization_id)
    if row is None:
        raise Conflict("This clinic does not take online bookings yet; call the clinic.")
    return row


def _consent_signers(session: Session, organization_id: str, patient: Patient) -> list[Signer]:
    return list(
        session.scalars(
            select(Signer)
            .join(Envelope, Envelope.id == Signer.envelope_id)
            .where(
                Envelope.organization_id == organization_id,
                Envelope.kind == DocumentKind.TELEMEDICINE_CONSENT.value,
                Signer.patient_mis_id == patient.mis_id,
                Signer.method == Method.IDP.value,
            )
            .order_by(Envelope.created_at.desc())
        )
    )


def signed_consent(session: Session, organization_id: str, patient: Patient) -> Envelope | None:
    """The card's signed telemedicine consent at this clinic, if any (signed by the
    patient; the seal job may still be putting the signature into the PDF)."""
    for signer in _consent_signers(session, organization_id, patient):
        if signer.status == SignerStatus.SIGNED.value and signer.envelope.status in (
            EnvelopeStatus.SENT.value,
            EnvelopeStatus.COMPLETED.value,
        ):
            return signer.envelope
    return None


@dataclass(frozen=True)
class ConsentToSign:
    """Where the patient signs the consent: the signing page of its ``idp`` signer."""

    envelope_id: str
    path: str
    provider_name: str


def consent_to_sign(
    session: Session,
    keyring: Keyring,
    organization_id: str,
    patient: Patient,
    contact: tuple[str, str],
    *,
    lang: str,
    ttl: timedelta,
    now: datetime,
) -> ConsentToSign:
    """The card's pending consent envelope, or a new one (``contact`` is the cabinet's
    verified ``(channel, value)``: the invitation goes there too)."""
    settings = required_settings(session, organization_id)
    provider = session.get(IdentityProvider, settings.identity_provider_id)
    assert provider is not None
    for signer in _consent_signers(session, organization_id, patient):
        if signer.envelope.status == EnvelopeStatus.SENT.value and signer.status in (
            SignerStatus.NOTIFIED.value,
            SignerStatus.WAITING.value,
        ):
            token = keyring.link_token(signer.id, signer.link_version)
            return ConsentToSign(signer.envelope_id, f"/s/{token}", provider.name)
    channel, value = contact
    env = create_envelope(
        session,
        keyring,
        organization_id,
        EnvelopeIn(
            document_id=settings.consent_document_id,
            signers=[
                SignerIn.model_validate(
                    {
                        "role": Role.PATIENT.value,
                        "name": patient.name,
                        "method": Method.IDP.value,
                        "identity_provider_id": provider.id,
                        "birth_date": patient.birth_date,
                        "patient_mis_id": patient.mis_id,
                        "phone" if channel == "sms" else "email": value,
                        "lang": lang,
                    }
                )
            ],
        ),
        now=now,
        default_ttl=ttl,
        default_lang=lang,
    )
    signer = env.signers[0]
    token = keyring.link_token(signer.id, signer.link_version)
    return ConsentToSign(env.id, f"/s/{token}", provider.name)
