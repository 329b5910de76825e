"""``/device/v1/webauthn``: the device registers its platform authenticator (W3C
WebAuthn Level 2 §7.1); from then on every approval carries a user-verified assertion
whose challenge is the hash of what is approved (docs/clinician-devices.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from webauthn.helpers import bytes_to_base64url

from medsign.audit.service import record
from medsign.authenticators.schemas import AuthenticatorsOut, CredentialOut, RegistrationIn
from medsign.authenticators.service import (
    RelyingParty,
    credential_ids,
    register,
    registration_options,
)
from medsign.clinicians.models import Clinician
from medsign.clinicians.service import Outcome, authenticate_device, refuse
from medsign.errors import AuthenticatorRejected
from medsign.web.deps import bearer, runtime

router = APIRouter(prefix="/device/v1/webauthn", tags=["clinician devices"])

_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid device token."},
    403: {"description": "The device was revoked, or the authenticator's answer did not verify."},
}


@router.post("/registration/options", responses=_AUTH)
def options(request: Request) -> dict[str, Any]:
    """``PublicKeyCredentialCreationOptions`` for this device (JSON, binary members
    base64url): a platform authenticator with user verification, no attestation."""
    rt = runtime(request)
    with rt.transaction(write=False) as session:
        device = authenticate_device(session, rt.keyring, bearer(request), now=rt.clock())
        clinician = session.get(Clinician, device.clinician_id)
        return registration_options(
            session,
            rt.keyring,
            RelyingParty.of(rt.settings.public_url),
            device_id=device.id,
            user_name=clinician.name if clinician is not None else device.id,
            now=rt.clock(),
        )


@router.post(
    "/registration",
    status_code=201,
    response_model=CredentialOut,
    responses={**_AUTH, 409: {"description": "This authenticator is already registered."}},
)
def registration(request: Request, body: RegistrationIn) -> CredentialOut:
    """Verify and keep the authenticator's credential; a device that has one already
    must send an assertion of it over this registration's challenge (else 403
    ``authenticator-rejected``). Refusals are audited."""
    rt = runtime(request)
    now = rt.clock()
    with rt.transaction() as session:
        device = authenticate_device(session, rt.keyring, bearer(request), now=now)
        actor = f"device:{device.id}"
        try:
            kept = register(
                session,
                rt.keyring,
                RelyingParty.of(rt.settings.public_url),
                device_id=device.id,
                organization_id=device.organization_id,
                credential=body.credential,
                assertion=body.assertion,
                now=now,
            )
        except AuthenticatorRejected as exc:
            outcome: Outcome[CredentialOut] = refuse(
                session,
                device.organization_id,
                "device.authenticator_refused",
                exc,
                now=now,
                actor=actor,
                data={"device_id": device.id},
            )
        else:
            row = kept.credential
            credential_id = bytes_to_base64url(row.credential_id)
            data = {"device_id": device.id, "credential_id": credential_id, "aaguid": row.aaguid}
            if kept.confirmed_by is not None:
                data["confirmed_by"] = kept.confirmed_by["credential_id"]
            record(
                session,
                device.organization_id,
                "device.authenticator_registered",
                at=now,
                actor=actor,
                data=data,
            )
            created = CredentialOut(credential_id=credential_id, created_at=now.isoformat())
            outcome = Outcome(created)
    return outcome.result()


@router.get("", response_model=AuthenticatorsOut, responses=_AUTH)
def authenticators(request: Request) -> AuthenticatorsOut:
    """The relying party id and the device's credential ids (``allowCredentials``)."""
    rt = runtime(request)
    with rt.transaction(write=False) as session:
        device = authenticate_device(session, rt.keyring, bearer(request), now=rt.clock())
        return AuthenticatorsOut(
            rp_id=RelyingParty.of(rt.settings.public_url).id,
            credentials=credential_ids(session, device.id),
        )
