"""``/api/v1/invites``: pre-visit invite links and the pre-filled EDO agreement
(docs/cabinet.md "Pre-visit invites")."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from medsign.invites.schemas import InviteIn, InviteOut
from medsign.invites.service import create_invite, edo_agreement_pdf, get_invite, invite_out
from medsign.web.deps import org_transaction, runtime

router = APIRouter(prefix="/api/v1/invites", tags=["invites"])


@router.post("", status_code=201, response_model=InviteOut)
def create(request: Request, body: InviteIn) -> InviteOut:
    """A new single-use invite link for a new patient (the ``url`` is shown only here)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        invite, token = create_invite(session, rt.keyring, org_id, body, now=rt.clock())
        url = f"{rt.settings.public_url.rstrip('/')}/invite/{token}"
        return invite_out(session, invite, rt.clock(), url=url)


@router.get("/{invite_id}", response_model=InviteOut)
def read(request: Request, invite_id: str) -> InviteOut:
    """An invite's state and, once filled in, the new card's MIS id."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        return invite_out(session, get_invite(session, org_id, invite_id), rt.clock())


@router.get(
    "/{invite_id}/edo-agreement.pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The agreement to print."},
        409: {"description": "The patient has not filled in the invite yet."},
    },
)
def edo_agreement(
    request: Request,
    invite_id: str,
    lang: str = Query(default="ru", pattern="^(en|ru|fa)$", description="The language."),
) -> Response:
    """The EDO agreement pre-filled with the patient's card, to print and sign on paper."""
    with org_transaction(request) as (session, org_id):
        pdf = edo_agreement_pdf(session, org_id, invite_id, lang)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": 'inline; filename="edo-agreement.pdf"',
            "Cache-Control": "private, no-store",
        },
    )
