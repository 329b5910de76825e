"""The pre-visit invite page (docs/cabinet.md "Pre-visit invites"): fields "Full name",
"Birth date", "Phone or email", the consent to personal-data processing and "Send".
A plain form without script; CSRF by a double-submit cookie (OWASP CSRF cheat sheet),
as on the cabinet's login form."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from medsign.errors import DomainError, InvalidInput
from medsign.i18n import t
from medsign.invites.schemas import InviteForm
from medsign.invites.service import complete_invite, consent_text, open_invite
from medsign.organizations.models import Organization
from medsign.runtime import Runtime
from medsign.web.deps import runtime
from medsign.web.pages.cabinet import cabinet_page
from medsign.web.pages.cabinet_session import form_lang
from medsign.web.pages.cookies import same_secret, secure_cookies

router = APIRouter(prefix="/invite", include_in_schema=False)

FORM_COOKIE = "medsign_invite_form"


def _form(
    request: Request,
    rt: Runtime,
    token: str,
    lang: str,
    org_name: str,
    *,
    values: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    form_token = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)
    response = cabinet_page(
        request,
        "invite.html",
        lang,
        status,
        csrf=form_token,
        token=token,
        org=org_name,
        consent=consent_text(org_name, lang),
        values=values or {},
        error=error,
    )
    response.set_cookie(
        FORM_COOKIE,
        form_token,
        httponly=True,
        secure=secure_cookies(rt),
        samesite="lax",
        path="/invite",
    )
    return response


def _gone(request: Request, lang: str, exc: DomainError) -> Response:
    return cabinet_page(
        request, "message.html", lang, exc.status, heading=exc.title, text=exc.detail
    )


@router.get("/{token}", response_class=HTMLResponse)
def invite_page(request: Request, token: str) -> Response:
    """The form a new patient fills in before the visit."""
    rt = runtime(request)
    lang = form_lang(request, rt)
    try:
        with rt.transaction(write=False) as session:
            invite = open_invite(session, rt.keyring, token, now=rt.clock())
            org = session.get(Organization, invite.organization_id)
            name = org.name if org else ""
    except DomainError as exc:
        return _gone(request, lang, exc)
    return _form(request, rt, token, lang, name)


@router.post("/{token}")
def send(
    request: Request,
    token: str,
    name: Annotated[str, Form(max_length=200)] = "",
    birth_date: Annotated[str, Form(max_length=20)] = "",
    contact: Annotated[str, Form(max_length=300)] = "",
    consent: Annotated[str, Form(max_length=10)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
    lang: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Create the card; the MIS gets it by webhook."""
    rt = runtime(request)
    lang = form_lang(request, rt, lang)
    values = {"name": name, "birth_date": birth_date, "contact": contact}
    try:
        with rt.transaction(write=False) as session:
            invite = open_invite(session, rt.keyring, token, now=rt.clock())
            org = session.get(Organization, invite.organization_id)
            org_name = org.name if org else ""
    except DomainError as exc:
        return _gone(request, lang, exc)
    try:
        if not same_secret(csrf, request.cookies.get(FORM_COOKIE, "")):
            raise InvalidInput("The form is out of date. Reload the page and try again.")
        try:
            form = InviteForm(
                name=name,
                birth_date=date.fromisoformat(birth_date) if birth_date else date.min,
                contact=contact,
                consent=consent == "yes",
            )
        except (ValueError, ValidationError):
            raise InvalidInput("Fill in your full name, birth date and a phone or email.") from None
        with rt.transaction() as session:
            complete_invite(session, rt.keyring, token, form, lang=lang, now=rt.clock())
    except DomainError as exc:
        if exc.status == 410:
            return _gone(request, lang, exc)
        return _form(
            request, rt, token, lang, org_name, values=values, error=exc.detail, status=exc.status
        )
    response = cabinet_page(
        request,
        "message.html",
        lang,
        heading=t("invite_title", lang, org=org_name),
        text=t("invite_done", lang, org=org_name),
    )
    response.delete_cookie(FORM_COOKIE, path="/invite")
    return response
