"""Creating, reading and voiding envelopes (the MIS side)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, object_session

from medsign.audit.service import record
from medsign.branches.service import envelope_branch
from medsign.branding.outbound import base_url
from medsign.clinicians.models import Clinician
from medsign.db.base import new_id
from medsign.documents.service import get_document
from medsign.domain.contacts import normalize_email, normalize_phone
from medsign.domain.identity_match import normalize_national_id
from medsign.domain.policy import (
    DocumentKind,
    Method,
    Relation,
    Role,
    check_method,
    parse_enum,
)
from medsign.domain.states import EnvelopeStatus, SignerStatus
from medsign.domain.tokens import Keyring
from medsign.envelopes.models import Envelope, EnvelopeVersion, Signer
from medsign.envelopes.policy_context import policy_context
from medsign.envelopes.queries import load_envelope
from medsign.envelopes.schemas import EnvelopeIn, EnvelopeOut, SignerIn, SignerOut
from medsign.envelopes.workflow import end_envelope, invite_due
from medsign.errors import DomainError, InvalidInput
from medsign.events.service import emit
from medsign.identity.service import usable_provider
from medsign.patients.models import Patient
from medsign.patients.service import patient_for_signer

LINK_PURPOSE = "link"
# Keyed-hash purpose of national ids (identity.login.national_id_hash uses the same).
NATIONAL_ID_PURPOSE = "national-id"
MAX_TTL = timedelta(days=366)


def _idp_columns(
    session: Session,
    keyring: Keyring,
    organization_id: str,
    where: str,
    method: Method,
    raw: SignerIn,
    patient_id: str | None,
) -> dict[str, object]:
    """Method ``idp``: the provider (of this organization) and what the login must
    prove; other methods carry none of it."""
    given = raw.identity_provider_id or raw.birth_date or raw.national_id
    if method is not Method.IDP:
        if given:
            raise InvalidInput(
                f"{where}: `identity_provider_id`, `birth_date` and `national_id` are only "
                "for method idp.",
                field=f"{where}.method",
            )
        return {}
    if not raw.identity_provider_id:
        raise InvalidInput(
            f"{where}: method idp needs `identity_provider_id` (POST /api/v1/identity-providers).",
            field=f"{where}.identity_provider_id",
        )
    try:
        provider = usable_provider(session, organization_id, raw.identity_provider_id)
    except DomainError as exc:
        raise InvalidInput(
            f"{where}: {exc.detail}", field=f"{where}.identity_provider_id"
        ) from None
    national = normalize_national_id(raw.national_id) if raw.national_id else ""
    if raw.national_id and not national:
        raise InvalidInput(f"{where}: `national_id` has no digits.", field=f"{where}.national_id")
    patient = session.get(Patient, patient_id) if patient_id else None
    if not national and raw.birth_date is None and (patient is None or patient.birth_date is None):
        raise InvalidInput(
            f"{where}: method idp needs `birth_date` or `national_id` (or a patient record "
            "with a birth date) to check that the person who logs in is this signer.",
            field=f"{where}.birth_date",
        )
    return {
        "identity_provider_id": provider.id,
        "birth_date": raw.birth_date,
        "national_id_hash": keyring.hash(NATIONAL_ID_PURPOSE, national) if national else None,
    }


def _clinician_column(
    session: Session, organization_id: str, where: str, method: Method, raw: SignerIn
) -> str | None:
    """Method ``device``: the organization's clinician whose devices sign."""
    if method is not Method.DEVICE:
        if raw.clinician_id:
            raise InvalidInput(
                f"{where}: `clinician_id` is only for method device.", field=f"{where}.method"
            )
        return None
    if not raw.clinician_id:
        raise InvalidInput(
            f"{where}: method device needs `clinician_id` (POST /api/v1/clinicians).",
            field=f"{where}.clinician_id",
        )
    clinician = session.get(Clinician, raw.clinician_id)
    if clinician is None or clinician.organization_id != organization_id:
        raise InvalidInput(
            f"{where}: no clinician with id {raw.clinician_id} in this organization.",
            field=f"{where}.clinician_id",
        )
    return clinician.id


def _validated_signer(
    session: Session,
    keyring: Keyring,
    organization_id: str,
    kind: DocumentKind,
    index: int,
    raw: SignerIn,
    now: datetime,
) -> dict[str, object]:
    """Check one signer's role, method, relation, contact and the policy; return columns."""
    where = f"signers[{index}]"
    role = parse_enum(Role, raw.role, "role")
    method = parse_enum(Method, raw.method, "method")
    relation: Relation | None = None
    if role is Role.REPRESENTATIVE:
        if raw.relation is None:
            raise InvalidInput(
                f"{where}: a representative needs `relation` (parent, guardian, payer, proxy).",
                field=f"{where}.relation",
            )
        relation = parse_enum(Relation, raw.relation, "relation")
    elif raw.relation is not None:
        raise InvalidInput(
            f"{where}: `relation` is only for role representative.", field=f"{where}.relation"
        )
    phone = normalize_phone(raw.phone) if raw.phone else None
    email = normalize_email(raw.email) if raw.email else None
    if method is Method.SMS_OTP and phone is None:
        raise InvalidInput(
            f"{where}: method sms_otp needs a `phone` in international format.",
            field=f"{where}.phone",
        )
    if method is Method.EMAIL_OTP and email is None:
        raise InvalidInput(f"{where}: method email_otp needs an `email`.", field=f"{where}.email")
    if role is Role.VIEWER and method not in (Method.SMS_OTP, Method.EMAIL_OTP):
        raise InvalidInput(
            f"{where}: a viewer receives the final copy by sms_otp or email_otp (the channel).",
            field=f"{where}.method",
        )
    if method is Method.CABINET and (
        role is not Role.PATIENT or not (raw.patient_mis_id or phone or email)
    ):
        raise InvalidInput(
            f"{where}: method cabinet is for a patient with `patient_mis_id` (the card "
            "their cabinet is attached to) or the `phone` or `email` they log in with "
            "(docs/cabinet.md).",
            field=f"{where}.patient_mis_id",
        )
    patient_id = None
    if raw.patient_mis_id and role in (Role.PATIENT, Role.REPRESENTATIVE):
        patient = patient_for_signer(
            session,
            organization_id,
            raw.patient_mis_id,
            name=raw.name,
            phone=phone,
            email=email,
            now=now,
        )
        patient_id = patient.id
    check_method(kind, method, role, policy_context(session, organization_id, patient_id, now))
    idp = _idp_columns(session, keyring, organization_id, where, method, raw, patient_id)
    clinician_id = _clinician_column(session, organization_id, where, method, raw)
    return {
        **idp,
        "clinician_id": clinician_id,
        "role": role.value,
        "method": method.value,
        "relation": relation.value if relation else None,
        "name": raw.name,
        "phone": phone,
        "email": email,
        "order": raw.order,
        "patient_mis_id": raw.patient_mis_id,
        "patient_id": patient_id,
    }


def create_envelope(
    session: Session,
    keyring: Keyring,
    organization_id: str,
    body: EnvelopeIn,
    *,
    now: datetime,
    default_ttl: timedelta,
    default_lang: str,
    actor: str = "api",
) -> Envelope:
    """Create an envelope in state ``sent`` and invite the first order group."""
    doc = get_document(session, organization_id, body.document_id)
    branch_id = envelope_branch(session, organization_id, body.branch_id, doc.branch_id)
    kind = DocumentKind(doc.kind)
    values = [
        _validated_signer(session, keyring, organization_id, kind, i, s, now)
        for i, s in enumerate(body.signers)
    ]
    if all(v["role"] == Role.VIEWER.value for v in values):
        raise InvalidInput("An envelope needs at least one signer who is not a viewer.")
    if body.expires_at is None:
        expires_at = now + default_ttl
    else:
        if body.expires_at.tzinfo is None:
            raise InvalidInput(
                "`expires_at` needs a time zone, e.g. 2026-12-01T18:00:00+03:00.",
                field="expires_at",
            )
        expires_at = body.expires_at.astimezone(UTC)
        if expires_at <= now or expires_at > now + MAX_TTL:
            raise InvalidInput(
                "`expires_at` must be in the future and at most a year away.",
                field="expires_at",
            )
    env = Envelope(
        organization_id=organization_id,
        branch_id=branch_id,
        document_id=doc.id,
        kind=doc.kind,
        status=EnvelopeStatus.SENT.value,
        expires_at=expires_at,
        current_sha256=doc.sha256,
        version=0,
        created_at=now,
        updated_at=now,
    )
    session.add(env)
    session.flush()
    session.add(EnvelopeVersion(envelope_id=env.id, version=0, sha256=doc.sha256, size=doc.size))
    for position, (raw, v) in enumerate(zip(body.signers, values, strict=True)):
        signer_id = new_id()
        session.add(
            Signer(
                id=signer_id,
                envelope_id=env.id,
                position=position,
                status=SignerStatus.WAITING.value,
                link_version=1,
                link_hash=keyring.hash(LINK_PURPOSE, keyring.link_token(signer_id, 1)),
                lang=raw.lang or default_lang,
                **v,
            )
        )
    session.flush()
    session.refresh(env, ["signers"])
    record(
        session,
        organization_id,
        "envelope.sent",
        at=now,
        actor=actor,
        envelope_id=env.id,
        data={"document_id": doc.id, "signers": len(values), "expires_at": expires_at.isoformat()},
    )
    emit(session, organization_id, "envelope.sent", at=now, envelope_id=env.id)
    invite_due(session, env, now=now)
    return env


def envelope_out(env: Envelope, keyring: Keyring, public_url: str) -> EnvelopeOut:
    """The API view of an envelope; ``signing_url`` only while a signer may still act,
    on the organization's custom domain when it has one (docs/branding.md)."""
    session = object_session(env)
    base = (
        base_url(session, env.organization_id, public_url)
        if session is not None
        else public_url.rstrip("/")
    )
    signers = []
    for s in env.signers:
        url = None
        if (
            env.status == EnvelopeStatus.SENT.value
            and s.status in (SignerStatus.WAITING.value, SignerStatus.NOTIFIED.value)
            and s.method != Method.DEVICE.value  # the clinician approves on their device
        ):
            url = f"{base}/s/{keyring.link_token(s.id, s.link_version)}"
        signers.append(
            SignerOut(
                id=s.id,
                role=s.role,
                name=s.name,
                method=s.method,
                order=s.order,
                status=s.status,
                relation=s.relation,
                signed_at=s.signed_at,
                declined_at=s.declined_at,
                decline_reason=s.decline_reason,
                signing_url=url,
                identity_provider_id=s.identity_provider_id,
                clinician_id=s.clinician_id,
            )
        )
    return EnvelopeOut(
        id=env.id,
        status=env.status,
        document_id=env.document_id,
        created_at=env.created_at,
        expires_at=env.expires_at,
        completed_at=env.completed_at,
        void_reason=env.void_reason,
        branch_id=env.branch_id,
        signers=signers,
    )


def void_envelope(
    session: Session,
    organization_id: str,
    envelope_id: str,
    reason: str,
    *,
    now: datetime,
    actor: str = "api",
) -> Envelope:
    """Void an envelope that has not ended; its links stop working."""
    env = load_envelope(session, organization_id, envelope_id, lock=True)
    end_envelope(session, env, EnvelopeStatus.VOIDED, now=now, actor=actor, data={"reason": reason})
    env.void_reason = reason
    return env
