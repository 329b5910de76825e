"""``/api/v1/clinicians``: invite clinicians, list them with their devices, send another
enrollment link, revoke a device (issue [clinician]; docs/clinician-devices.md)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request

from medsign.clinicians.models import Clinician, ClinicianDevice, ClinicianEnrollment
from medsign.clinicians.schemas import (
    ClinicianIn,
    ClinicianList,
    ClinicianOut,
    DeviceOut,
    EnrollmentIn,
    EnrollmentOut,
    RevokeIn,
)
from medsign.clinicians.service import (
    create_clinician,
    devices_of,
    enrollment_url,
    get_clinician,
    list_clinicians,
    new_enrollment,
    revoke_device,
)
from medsign.web.deps import org_transaction, runtime

router = APIRouter(prefix="/api/v1/clinicians", tags=["clinicians"])


def _enrollment_out(request: Request, enrollment: ClinicianEnrollment, token: str) -> EnrollmentOut:
    return EnrollmentOut(
        id=enrollment.clinician_id,
        enrollment_id=enrollment.id,
        enrollment_url=enrollment_url(runtime(request).settings.public_url, token),
        enrollment_token=token,
        expires_at=enrollment.expires_at,
    )


def _device_out(device: ClinicianDevice) -> DeviceOut:
    return DeviceOut(
        id=device.id,
        branch_id=device.branch_id,
        status=device.status,
        certificate_serial=device.serial,
        not_after=device.not_after,
        created_at=device.created_at,
        revoked_at=device.revoked_at,
        revocation_reason=device.revocation_reason,
        certificate=device.certificate_pem,
    )


def _clinician_out(clinician: Clinician, devices: list[ClinicianDevice]) -> ClinicianOut:
    return ClinicianOut(
        id=clinician.id,
        name=clinician.name,
        licence_number=clinician.licence_number,
        email=clinician.email,
        phone=clinician.phone,
        created_at=clinician.created_at,
        devices=[_device_out(d) for d in devices],
    )


@router.post("", status_code=201, response_model=EnrollmentOut)
def create(request: Request, body: ClinicianIn) -> EnrollmentOut:
    """Invite a clinician for a workplace (the organization, or ``branch_id``): the
    enrollment link opens the clinician app; it is also sent to their email or phone.
    The token is single-use and expires (``MEDSIGN_CLINICIAN_ENROLLMENT_HOURS``)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        _clinician, enrollment, token = create_clinician(
            session,
            rt.keyring,
            org_id,
            body,
            now=rt.clock(),
            enrollment_ttl=timedelta(hours=rt.settings.clinician_enrollment_hours),
            default_lang=rt.settings.default_lang,
        )
        return _enrollment_out(request, enrollment, token)


@router.get("", response_model=ClinicianList)
def list_all(request: Request) -> ClinicianList:
    """The organization's clinicians with their devices and certificates."""
    with org_transaction(request) as (session, org_id):
        return ClinicianList(
            items=[_clinician_out(c, d) for c, d in list_clinicians(session, org_id)]
        )


@router.get("/{clinician_id}", response_model=ClinicianOut)
def read(request: Request, clinician_id: str) -> ClinicianOut:
    """One clinician with their devices."""
    with org_transaction(request) as (session, org_id):
        clinician = get_clinician(session, org_id, clinician_id)
        return _clinician_out(clinician, devices_of(session, clinician.id))


@router.post("/{clinician_id}/enrollments", status_code=201, response_model=EnrollmentOut)
def enroll_again(request: Request, clinician_id: str, body: EnrollmentIn) -> EnrollmentOut:
    """Another enrollment link: another workplace (``branch_id``) or device, or one that
    replaces a device whose key was lost (``replaces_device_id``: that device is
    revoked when the new one enrolls)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        enrollment, token = new_enrollment(
            session,
            rt.keyring,
            org_id,
            clinician_id,
            body.branch_id,
            body.replaces_device_id,
            now=rt.clock(),
            ttl=timedelta(hours=rt.settings.clinician_enrollment_hours),
        )
        return _enrollment_out(request, enrollment, token)


@router.post("/{clinician_id}/devices/{device_id}/revoke", response_model=DeviceOut)
def revoke(request: Request, clinician_id: str, device_id: str, body: RevokeIn) -> DeviceOut:
    """Revoke a device: its certificate goes on the CRL, OCSP answers ``revoked``, its
    token stops working and its pending requests close. Revoking twice is harmless."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        device = revoke_device(
            session, org_id, clinician_id, device_id, body.reason, now=rt.clock()
        )
        return _device_out(device)
