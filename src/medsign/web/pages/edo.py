"""The patient's page to withdraw their EDO agreement (linked from every message)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from medsign.errors import Conflict, LinkExpired
from medsign.i18n import t
from medsign.organizations.models import Organization
from medsign.patients.models import EdoAgreement
from medsign.patients.service import agreement_by_revoke_token, revoke_agreement
from medsign.runtime import Runtime
from medsign.web.deps import runtime
from medsign.web.pages.render import page_lang, render

router = APIRouter(prefix="/edo", include_in_schema=False)


def _org_name(rt: Runtime, agreement: EdoAgreement) -> str:
    with rt.transaction() as session:
        org = session.get(Organization, agreement.organization_id)
        return org.name if org else ""


def _dead(request: Request) -> HTMLResponse:
    lang = page_lang(request)
    return render(
        request,
        "message.html",
        lang,
        status_code=410,
        heading=t("link_dead", lang),
        text=t("link_dead_text", lang),
    )


@router.get("/revoke/{token}", response_class=HTMLResponse)
def revoke_page(request: Request, token: str) -> Response:
    """Explain what withdrawing means, with one button."""
    rt = runtime(request)
    lang = page_lang(request)
    try:
        with rt.transaction() as session:
            agreement = agreement_by_revoke_token(session, rt.keyring, token)
    except LinkExpired:
        return _dead(request)
    org = _org_name(rt, agreement)
    if agreement.revoked_at is not None:
        return render(
            request,
            "message.html",
            lang,
            heading=t("revoked", lang),
            text=t("revoked_text", lang, org=org),
        )
    return render(request, "edo_revoke.html", lang, token=token, org=org)


@router.post("/revoke/{token}", response_class=HTMLResponse)
def revoke(request: Request, token: str) -> Response:
    """Withdraw the agreement (idempotent: a second press shows the same result)."""
    rt = runtime(request)
    lang = page_lang(request)
    try:
        with rt.transaction() as session:
            agreement = agreement_by_revoke_token(session, rt.keyring, token)
            if agreement.revoked_at is None:
                revoke_agreement(session, agreement, by="patient", reason=None, now=rt.clock())
    except LinkExpired:
        return _dead(request)
    except Conflict:
        pass
    return render(
        request,
        "message.html",
        lang,
        heading=t("revoked", lang),
        text=t("revoked_text", lang, org=_org_name(rt, agreement)),
    )
