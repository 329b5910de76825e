"""The cabinet's MIS side: attach codes, detaching, the clinic's cabinet settings
(shared/API.md "Patient cabinet")."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from medsign.branches.service import require_organization_scope
from medsign.cabinet.attach import AttachLimits, detach_by_clinic, issue_attach_code
from medsign.cabinet.clinic import settings_out, update_settings
from medsign.cabinet.schemas import AttachCodeOut, CabinetSettingsIn, CabinetSettingsOut
from medsign.web.deps import org_transaction, runtime

router = APIRouter(prefix="/api/v1", tags=["cabinet"])


@router.post(
    "/patients/{mis_id}/attach-code",
    status_code=201,
    response_model=AttachCodeOut,
    responses={
        404: {"description": "No patient card with this MIS id in this organization."},
        422: {"description": "The card lacks the full name, birth date or a contact."},
        429: {"description": "Too many codes for this card today."},
    },
)
def attach_code(request: Request, mis_id: str) -> AttachCodeOut:
    """A 9-digit attach code for the card (also sent to the patient by the organization's
    channel priority); earlier unused codes of the card stop working."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        row, code = issue_attach_code(
            session,
            rt.keyring,
            org_id,
            mis_id,
            limits=AttachLimits.from_settings(rt.settings),
            now=rt.clock(),
        )
        return AttachCodeOut(
            code=code,
            expires_at=row.expires_at,
            channel="email" if row.channel == "email" else "sms",
        )


@router.delete(
    "/patients/{mis_id}/attachment",
    status_code=204,
    responses={404: {"description": "The card is unknown or not attached."}},
)
def detach(request: Request, mis_id: str) -> Response:
    """Detach the card from its cabinet (the MIS deleted the card, or staff detach it);
    unused attach codes stop working. The patient can attach again with a new code."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        detach_by_clinic(session, org_id, mis_id, by="mis", now=rt.clock())
    return Response(status_code=204)


@router.get("/cabinet/settings", response_model=CabinetSettingsOut)
def read_settings(request: Request) -> CabinetSettingsOut:
    """The organization's user agreement and attach-code channel priority."""
    with org_transaction(request) as (session, org_id):
        return settings_out(session, org_id)


@router.put("/cabinet/settings", response_model=CabinetSettingsOut)
def write_settings(request: Request, body: CabinetSettingsIn) -> CabinetSettingsOut:
    """Set the user agreement (a document of kind user_agreement; null removes it) and
    the channel priority of attach codes."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        require_organization_scope("change the cabinet settings")
        return update_settings(session, org_id, body, now=rt.clock())
