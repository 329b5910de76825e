"""Clinicians, their enrollment links, device enrollment (proof of possession) and
revocation.

The Iranian Medical Council seed: a doctor requests a certificate per workplace from
an app and approves prescriptions there. Here an organization invites a clinician for
a workplace (the organization or one branch); the clinician's device sends a CSR
signed by its own ECDSA P-256 key (proof of possession, RFC 2986 §3) and gets a
certificate from the clinician CA (:mod:`medsign.pki.clinician_ca`) and a bearer
token. medsign never holds a clinician's private key.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Generic, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.branches.models import Branch
from medsign.branches.scope import current_branch
from medsign.branches.service import resolve_branch
from medsign.clinicians.models import (
    Clinician,
    ClinicianDevice,
    ClinicianEnrollment,
    DeviceRequest,
    DeviceStatus,
    RequestStatus,
)
from medsign.clinicians.schemas import ClinicianIn
from medsign.domain.contacts import normalize_email, normalize_phone
from medsign.domain.policy import Method
from medsign.domain.states import EnvelopeStatus, SignerStatus
from medsign.domain.tokens import Keyring
from medsign.envelopes.models import Envelope, Signer
from medsign.errors import (
    DeviceRevoked,
    DomainError,
    InvalidInput,
    LinkExpired,
    NotFound,
    ProofOfPossessionFailed,
    Unauthorized,
)
from medsign.jobs.outbox import JobKind, enqueue
from medsign.notify.subscriptions import DEVICE, Holder, forget_holder
from medsign.organizations.models import Organization
from medsign.pki import (
    CertificateStatus,
    ClinicianCa,
    ClinicianIdentity,
    PublishedAt,
    Revocation,
)

ENROLLMENT_PURPOSE = "clinician-enrollment"
DEVICE_TOKEN_PURPOSE = "device-token"  # noqa: S105 - a hash domain, not a secret
ACTIVE = DeviceStatus.ACTIVE
REVOKED = DeviceStatus.REVOKED
REASONS: dict[str, x509.ReasonFlags] = {
    "key_compromise": x509.ReasonFlags.key_compromise,
    "superseded": x509.ReasonFlags.superseded,
    "cessation_of_operation": x509.ReasonFlags.cessation_of_operation,
    "unspecified": x509.ReasonFlags.unspecified,
}


def enrollment_token(keyring: Keyring, enrollment_id: str) -> str:
    """The enrollment link's token: 256 bits derived from the deployment key and the
    row id (so the notification job carries the id only), url-safe base64."""
    raw = keyring.derive_seed(f"{ENROLLMENT_PURPOSE}:{enrollment_id}")
    return "mse_" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def enrollment_url(public_url: str, token: str) -> str:
    """The link the clinician opens: the clinician app, the token in the fragment (a
    fragment is never sent to a server nor in a Referer: RFC 3986 §3.5)."""
    return f"{public_url.rstrip('/')}/app#enroll={token}"


def published_at(public_url: str) -> PublishedAt:
    """Where medsign publishes the clinician CA's certificate, CRL and OCSP responder."""
    base = public_url.rstrip("/")
    return PublishedAt(
        ca_certificate_url=f"{base}/pki/clinician-ca.crt",
        crl_url=f"{base}/pki/clinician-ca.crl",
        ocsp_url=f"{base}/pki/ocsp",
    )


def _licence(value: str) -> str:
    licence = value.strip()
    if not licence or not licence.isprintable() or len(licence) > 64:
        raise InvalidInput(
            "`licence_number` must be 1 to 64 printable characters.", field="licence_number"
        )
    return licence


def create_clinician(
    session: Session,
    keyring: Keyring,
    organization_id: str,
    body: ClinicianIn,
    *,
    now: datetime,
    enrollment_ttl: timedelta,
    default_lang: str,
) -> tuple[Clinician, ClinicianEnrollment, str]:
    """Record a clinician and their first enrollment link (sent to them when they have
    a contact); return both and the link's token (shown once)."""
    branch_id = resolve_branch(session, organization_id, body.branch_id)
    phone = normalize_phone(body.phone) if body.phone else None
    email = normalize_email(body.email) if body.email else None
    clinician = Clinician(
        organization_id=organization_id,
        name=body.name.strip(),
        licence_number=_licence(body.licence_number),
        email=email,
        phone=phone,
        lang=body.lang or default_lang,
        created_at=now,
    )
    session.add(clinician)
    session.flush()
    record(
        session,
        organization_id,
        "clinician.created",
        at=now,
        actor="api",
        data={"clinician_id": clinician.id, "branch_id": branch_id},
    )
    enrollment, token = _new_enrollment(
        session, keyring, clinician, branch_id, None, now=now, ttl=enrollment_ttl
    )
    return clinician, enrollment, token


def _new_enrollment(
    session: Session,
    keyring: Keyring,
    clinician: Clinician,
    branch_id: str | None,
    replaces_device_id: str | None,
    *,
    now: datetime,
    ttl: timedelta,
) -> tuple[ClinicianEnrollment, str]:
    enrollment = ClinicianEnrollment(
        clinician_id=clinician.id,
        organization_id=clinician.organization_id,
        branch_id=branch_id,
        token_hash="",
        replaces_device_id=replaces_device_id,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(enrollment)
    session.flush()
    token = enrollment_token(keyring, enrollment.id)
    enrollment.token_hash = keyring.hash(ENROLLMENT_PURPOSE, token)
    if clinician.email or clinician.phone:
        enqueue(session, JobKind.ENROLLMENT, {"enrollment_id": enrollment.id}, now=now)
    record(
        session,
        clinician.organization_id,
        "clinician.enrollment_created",
        at=now,
        actor="api",
        data={
            "clinician_id": clinician.id,
            "enrollment_id": enrollment.id,
            "branch_id": branch_id,
            "replaces_device_id": replaces_device_id,
        },
    )
    return enrollment, token


def get_clinician(session: Session, organization_id: str, clinician_id: str) -> Clinician:
    """The organization's clinician, or NotFound (also for another organization's)."""
    clinician = session.get(Clinician, clinician_id)
    if clinician is None or clinician.organization_id != organization_id:
        raise NotFound(f"No clinician with id {clinician_id} in this organization.")
    return clinician


def new_enrollment(
    session: Session,
    keyring: Keyring,
    organization_id: str,
    clinician_id: str,
    branch_id: str | None,
    replaces_device_id: str | None,
    *,
    now: datetime,
    ttl: timedelta,
) -> tuple[ClinicianEnrollment, str]:
    """Another enrollment link for a clinician: another workplace, another device, or
    a replacement for a device whose key is lost (revoked when the new one enrolls)."""
    clinician = get_clinician(session, organization_id, clinician_id)
    branch = resolve_branch(session, organization_id, branch_id)
    if replaces_device_id is not None:
        device = session.get(ClinicianDevice, replaces_device_id)
        if device is None or device.clinician_id != clinician.id:
            raise NotFound(
                f"No device with id {replaces_device_id} for this clinician.",
                field="replaces_device_id",
            )
    return _new_enrollment(
        session, keyring, clinician, branch, replaces_device_id, now=now, ttl=ttl
    )


def list_clinicians(
    session: Session, organization_id: str
) -> list[tuple[Clinician, list[ClinicianDevice]]]:
    """The organization's clinicians with their devices (a branch token: the clinicians
    invited to its branch, with that branch's devices)."""
    query = select(Clinician).where(Clinician.organization_id == organization_id)
    branch = current_branch()
    if branch is not None:
        query = query.where(
            Clinician.id.in_(
                select(ClinicianEnrollment.clinician_id).where(
                    ClinicianEnrollment.branch_id == branch
                )
            )
        )
    clinicians = list(session.scalars(query.order_by(Clinician.created_at, Clinician.id)))
    return [(c, devices_of(session, c.id)) for c in clinicians]


def devices_of(session: Session, clinician_id: str) -> list[ClinicianDevice]:
    """A clinician's devices, oldest first (a branch token: its branch's only)."""
    query = select(ClinicianDevice).where(ClinicianDevice.clinician_id == clinician_id)
    branch = current_branch()
    if branch is not None:
        query = query.where(ClinicianDevice.branch_id == branch)
    return list(session.scalars(query.order_by(ClinicianDevice.created_at, ClinicianDevice.id)))


def revoke_device(
    session: Session,
    organization_id: str,
    clinician_id: str,
    device_id: str,
    reason: str,
    *,
    now: datetime,
    actor: str = "api",
) -> ClinicianDevice:
    """Revoke a device: its certificate appears on the CRL and OCSP says ``revoked``,
    its token stops working and its pending requests are closed. Idempotent."""
    clinician = get_clinician(session, organization_id, clinician_id)
    device = session.scalars(
        select(ClinicianDevice)
        .where(ClinicianDevice.id == device_id, ClinicianDevice.clinician_id == clinician.id)
        .with_for_update()
    ).first()
    branch = current_branch()
    if device is None or (branch is not None and device.branch_id != branch):
        raise NotFound(f"No device with id {device_id} for this clinician.")
    _revoke(session, device, reason, now=now, actor=actor)
    return device


def _revoke(
    session: Session, device: ClinicianDevice, reason: str, *, now: datetime, actor: str
) -> None:
    if device.status == REVOKED:
        return
    device.status = REVOKED
    device.revoked_at = now
    device.revocation_reason = reason
    session.execute(
        update(DeviceRequest)
        .where(DeviceRequest.device_id == device.id, DeviceRequest.status == RequestStatus.PENDING)
        .values(status=RequestStatus.CLOSED, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    forget_holder(session, Holder(DEVICE, device.id))  # no more pushes to a revoked device
    record(
        session,
        device.organization_id,
        "clinician.device_revoked",
        at=now,
        actor=actor,
        data={
            "clinician_id": device.clinician_id,
            "device_id": device.id,
            "serial": device.serial,
            "reason": reason,
        },
    )


T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A result, or a refusal that was audited in the same transaction.

    Not an exception inside the transaction, because the audit record of the refusal
    must be committed (as :class:`medsign.envelopes.signing.SignOutcome` does for a
    wrong code); :meth:`result` raises it after the commit.
    """

    value: T | None = None
    error: DomainError | None = None

    def result(self) -> T:
        """The value, or raise the refusal."""
        if self.error is not None:
            raise self.error
        assert self.value is not None
        return self.value


def refuse(
    session: Session,
    organization_id: str,
    action: str,
    error: DomainError,
    *,
    now: datetime,
    actor: str,
    envelope_id: str | None = None,
    data: dict[str, object] | None = None,
) -> Outcome[Any]:
    """Audit a refused attempt (bad input from a device is evidence too) and return it."""
    record(
        session,
        organization_id,
        action,
        at=now,
        actor=actor,
        envelope_id=envelope_id,
        data={**(data or {}), "problem": error.slug, "status": error.status},
    )
    return Outcome(error=error)


@dataclass(frozen=True)
class Enrolled:
    """A new device: its token (shown once), certificate and the chain above it."""

    device: ClinicianDevice
    token: str
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]


def _csr_public_key(
    csr_pem: str,
) -> tuple[x509.CertificateSigningRequest, ec.EllipticCurvePublicKey]:
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        public_key = csr.public_key()
    except (ValueError, TypeError, UnicodeError):
        raise InvalidInput("`csr` is not a PEM PKCS#10 certificate request.", field="csr") from None
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
        public_key.curve, ec.SECP256R1
    ):
        raise InvalidInput("The device key must be ECDSA P-256 (secp256r1).", field="csr")
    return csr, public_key


def _enrollment_by_token(session: Session, keyring: Keyring, token: str) -> ClinicianEnrollment:
    enrollment = session.scalars(
        select(ClinicianEnrollment).where(
            ClinicianEnrollment.token_hash == keyring.hash(ENROLLMENT_PURPOSE, token)
        )
    ).first()
    if enrollment is None:
        raise Unauthorized("This enrollment link is not valid. Ask the clinic for a new one.")
    return enrollment


def enroll(
    session: Session,
    keyring: Keyring,
    ca: ClinicianCa,
    token: str,
    csr_pem: str,
    *,
    now: datetime,
    certificate_days: int,
    public_url: str,
) -> Outcome[Enrolled]:
    """Enroll a device: check the link (single use, not expired) and the CSR (ECDSA
    P-256, self-signature verifies: proof of possession), issue the certificate for
    the enrollment's workplace, and return the device's bearer token.

    A forged proof of possession is an audited refusal (:class:`Outcome` with the
    :class:`ProofOfPossessionFailed` error): the caller commits, then raises it."""
    enrollment = _enrollment_by_token(session, keyring, token)
    if enrollment.used_at is not None or enrollment.expires_at <= now:
        raise LinkExpired(
            "This enrollment link was already used or has expired. Ask the clinic for a new one."
        )
    csr, public_key = _csr_public_key(csr_pem)
    if not csr.is_signature_valid or not isinstance(csr.signature_hash_algorithm, hashes.SHA256):
        return refuse(
            session,
            enrollment.organization_id,
            "clinician.enrollment_refused",
            ProofOfPossessionFailed(
                "The certificate request is not signed by the key it names (ECDSA with "
                "SHA-256): no proof of possession. Create the request with the device's "
                "own key.",
                field="csr",
            ),
            now=now,
            actor="device",
            data={"enrollment_id": enrollment.id, "clinician_id": enrollment.clinician_id},
        )
    # Single use under concurrency: only one transaction flips used_at from NULL.
    claimed = session.execute(
        update(ClinicianEnrollment)
        .where(ClinicianEnrollment.id == enrollment.id, ClinicianEnrollment.used_at.is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise LinkExpired("This enrollment link was already used. Ask the clinic for a new one.")
    clinician = session.get(Clinician, enrollment.clinician_id)
    org = session.get(Organization, enrollment.organization_id)
    assert clinician is not None and org is not None
    branch = session.get(Branch, enrollment.branch_id) if enrollment.branch_id else None
    who = ClinicianIdentity(
        name=clinician.name,
        licence_number=clinician.licence_number,
        organization=org.name,
        branch=branch.name if branch else None,
    )
    cert = ca.issue(
        public_key, who, now=now, days=certificate_days, published=published_at(public_url)
    )
    device_token = "msd_" + secrets.token_urlsafe(32)
    device = ClinicianDevice(
        clinician_id=clinician.id,
        organization_id=enrollment.organization_id,
        branch_id=enrollment.branch_id,
        enrollment_id=enrollment.id,
        token_hash=keyring.hash(DEVICE_TOKEN_PURPOSE, device_token),
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        serial=format(cert.serial_number, "x"),
        not_after=cert.not_valid_after_utc,
        status=ACTIVE,
        created_at=now,
    )
    session.add(device)
    session.flush()
    if enrollment.replaces_device_id:
        old = session.get(ClinicianDevice, enrollment.replaces_device_id, with_for_update=True)
        if old is not None:
            _revoke(session, old, "superseded", now=now, actor=f"device:{device.id}")
    record(
        session,
        enrollment.organization_id,
        "clinician.device_enrolled",
        at=now,
        actor=f"device:{device.id}",
        data={
            "clinician_id": clinician.id,
            "device_id": device.id,
            "branch_id": device.branch_id,
            "serial": device.serial,
        },
    )
    _prepare_waiting(session, clinician.id, now=now)
    return Outcome(Enrolled(device, device_token, cert, ca.issued_chain))


def _prepare_waiting(session: Session, clinician_id: str, *, now: datetime) -> None:
    """Requests already waiting for this clinician get prepared for the new device."""
    waiting = session.scalars(
        select(Signer.id)
        .join(Envelope, Envelope.id == Signer.envelope_id)
        .where(
            Signer.clinician_id == clinician_id,
            Signer.method == Method.DEVICE.value,
            Signer.status == SignerStatus.NOTIFIED.value,
            Envelope.status == EnvelopeStatus.SENT.value,
        )
    ).all()
    for signer_id in waiting:
        enqueue(session, JobKind.DEVICE_PREPARE, {"signer_id": signer_id}, now=now)


def authenticate_device(
    session: Session, keyring: Keyring, token: str | None, *, now: datetime
) -> ClinicianDevice:
    """The device a bearer token belongs to; 401 when unknown, 403 when revoked or its
    certificate expired (the clinic sends a new enrollment link)."""
    if not token or len(token) > 200:
        raise Unauthorized("Send the device's token as `Authorization: Bearer <token>`.")
    device = session.scalars(
        select(ClinicianDevice).where(
            ClinicianDevice.token_hash == keyring.hash(DEVICE_TOKEN_PURPOSE, token)
        )
    ).first()
    if device is None:
        raise Unauthorized("This device token is not valid. Enroll the device again.")
    if device.status != ACTIVE:
        raise DeviceRevoked(
            "This device was revoked. Ask the clinic for a new enrollment link.",
            device_id=device.id,
        )
    if device.not_after <= now:
        raise DeviceRevoked(
            "This device's certificate has expired. Ask the clinic for a new enrollment link.",
            device_id=device.id,
        )
    return device


def device_certificate(device: ClinicianDevice) -> x509.Certificate:
    """The device's certificate (parsed once per process: every approval of a batch
    needs it twice, to verify and to build the CMS)."""
    return _certificate(device.certificate_pem)


@lru_cache(maxsize=256)
def _certificate(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def revocations(session: Session) -> list[Revocation]:
    """Every revoked device certificate (the CRL's entries)."""
    rows = session.execute(
        select(
            ClinicianDevice.serial, ClinicianDevice.revoked_at, ClinicianDevice.revocation_reason
        )
        .where(ClinicianDevice.status == REVOKED)
        .order_by(ClinicianDevice.revoked_at)
    ).all()
    return [
        Revocation(int(serial, 16), revoked_at, REASONS.get(reason or "", REASONS["unspecified"]))
        for serial, revoked_at, reason in rows
        if revoked_at is not None
    ]


def revocation_info(
    session: Session, ca: ClinicianCa, envelope_id: str, *, now: datetime
) -> tuple[list[x509.CertificateRevocationList], list[bytes]]:
    """The clinician CA's validation data for the device signatures of an envelope:
    its current CRL and an OCSP answer for each signing device's certificate (none
    when no device signed). The evidence job puts them in the B-LTA archive's DSS
    (ETSI EN 319 142-1 §5.4.2) so the signatures validate without reaching medsign."""
    devices = session.scalars(
        select(ClinicianDevice)
        .join(DeviceRequest, DeviceRequest.device_id == ClinicianDevice.id)
        .where(
            DeviceRequest.envelope_id == envelope_id,
            DeviceRequest.status == RequestStatus.APPROVED,
        )
        .distinct()
    ).all()
    if not devices:
        return [], []
    crl = x509.load_der_x509_crl(ca.crl(revocations(session), now=now))
    ocsps = [
        ca.ocsp_for(
            device_certificate(device),
            certificate_status(session, int(device.serial, 16)),
            now=now,
        )
        for device in devices
    ]
    return [crl], ocsps


def certificate_status(session: Session, serial: int) -> CertificateStatus:
    """What the clinician CA says of ``serial`` (OCSP, RFC 6960 §2.2)."""
    device = session.scalars(
        select(ClinicianDevice).where(ClinicianDevice.serial == format(serial, "x"))
    ).first()
    if device is None:
        return CertificateStatus(known=False)
    if device.status == REVOKED and device.revoked_at is not None:
        reason = REASONS.get(device.revocation_reason or "", REASONS["unspecified"])
        return CertificateStatus(True, Revocation(serial, device.revoked_at, reason))
    return CertificateStatus(True)
