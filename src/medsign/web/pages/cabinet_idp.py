"""The cabinet's identity-provider buttons: "Log in with <provider>" on the login page,
"Link <provider>" and "Unlink" on the devices page (docs/cabinet.md), and the end of
their trip, which comes back through the provider's one callback (web/pages/idp.py)
and is decided by medsign.cabinet.idp.

Starting a login carries the login form's double-submit token; linking and unlinking
the session's token (OWASP CSRF cheat sheet). The state cookie binds the trip to this
browser (web/pages/idp_state.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from medsign.cabinet.idp import Linked, LoggedIn, finish, start, unlink
from medsign.cabinet.service import Visit
from medsign.errors import DomainError, ProviderUnavailable, TooManyRequests
from medsign.i18n import LANGS, t
from medsign.identity.trip import Claimed, Ended, Purpose
from medsign.web.deps import runtime
from medsign.web.pages.cabinet import (
    cabinet_page,
    check_form_cookie,
    client_of,
    devices_page,
    host_organization,
    limit_address,
    login_page,
    set_session_cookie,
)
from medsign.web.pages.cabinet_session import CabinetForm, form_lang, to_login
from medsign.web.pages.idp_state import forget_state, identity_or_failure, keep_state
from medsign.web.pages.render import page_lang

router = APIRouter(prefix="/cabinet", include_in_schema=False)


def _go(request: Request, visit: Visit | None, provider_id: str, lang: str) -> Response:
    """Write the login (or link) and send the browser to the provider."""
    rt = runtime(request)
    host_org = host_organization(request)
    with rt.transaction() as session:
        started = start(
            session,
            rt.keyring,
            provider_id,
            host_organization_id=host_org,
            visit=visit,
            public_url=rt.settings.public_url,
            lang=lang,
            now=rt.clock(),
        )
    response = RedirectResponse(started.url, status_code=303)
    keep_state(response, rt, started.state)
    return response


@router.post("/idp/{provider_id}")
def begin_login(
    request: Request,
    provider_id: str,
    csrf: Annotated[str, Form(max_length=100)] = "",
    lang: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """ "Log in with <provider>": off to the provider."""
    rt = runtime(request)
    lang = form_lang(request, rt, lang)
    try:
        check_form_cookie(request, csrf)
        # Each press writes a login row: as many as code requests may.
        limit_address(request, "cabinet_code_bucket", rt.settings.cabinet_codes_per_ip_per_hour)
        return _go(request, None, provider_id, lang)
    except DomainError as exc:
        response = login_page(request, rt, lang, error=exc.detail, status=exc.status)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response


@router.post("/identities/link/{provider_id}")
def begin_link(request: Request, provider_id: str, form: CabinetForm) -> Response:
    """ "Link <provider>": a fresh login there, then the identity logs in here too."""
    cab = form.checked()
    try:
        return _go(request, cab.visit, provider_id, cab.lang)
    except DomainError as exc:
        return devices_page(request, cab, error=exc.detail, status=exc.status)


@router.post("/identities/{identity_id}/unlink")
def unlink_identity(request: Request, identity_id: str, form: CabinetForm) -> Response:
    """ "Unlink": that provider's login no longer opens this cabinet."""
    rt, lang, visit = cab = form.checked()
    try:
        with rt.transaction() as session:
            name = unlink(session, visit.account.id, identity_id, now=rt.clock())
    except DomainError as exc:
        return devices_page(request, cab, error=exc.detail, status=exc.status)
    message = t("cabinet_idp_unlinked", lang, provider=name)
    return devices_page(request, cab, message=message)


def complete(request: Request, claimed: Claimed, code: str) -> Response:
    """The provider sent a cabinet login or link back (called by the callback)."""
    rt = runtime(request)
    identity = identity_or_failure(request, claimed, code)
    if isinstance(identity, DomainError):
        return ended_page(request, Ended(identity, None, claimed.lang, claimed.purpose))
    client = client_of(request)
    with rt.transaction() as session:
        result = finish(
            session,
            rt.keyring,
            claimed,
            identity,
            ip=client.ip,
            user_agent=client.user_agent,
            now=rt.clock(),
        )
    if isinstance(result, Ended):
        return ended_page(request, result)
    response: Response
    if isinstance(result, LoggedIn):
        response = to_login(claimed.lang)
        set_session_cookie(response, rt, result.token)
    else:
        assert isinstance(result, Linked)
        key = "cabinet_idp_already_linked" if result.already else "cabinet_idp_linked"
        text = t(key, claimed.lang, provider=result.provider_name)
        response = cabinet_page(
            request,
            "message.html",
            claimed.lang,
            heading=text,
            text=t("cabinet_idp_linked_text", claimed.lang, provider=result.provider_name),
            back_url=f"/cabinet/devices?lang={claimed.lang}",
            back_label=t("cabinet_back", claimed.lang),
        )
    forget_state(response)
    return response


# reason -> (heading, text) keys of the page for a cabinet login that did not work
_PAGES = {
    "no-verified-contact": ("cabinet_idp_no_contact", "cabinet_idp_no_contact_text"),
    "identity-taken": ("cabinet_idp_taken", "cabinet_idp_taken_text"),
    "session-ended": ("cabinet_idp_failed", "cabinet_idp_session_ended"),
    "cancelled": ("cabinet_idp_failed", "cabinet_idp_cancelled"),
}


def ended_page(request: Request, ended: Ended) -> Response:
    """The page for a cabinet login or link that did not work: what happened and what
    to do next, in the language the patient started in (the error's status code)."""
    lang = ended.lang if ended.lang in LANGS else page_lang(request)
    error = ended.error
    reason = str(error.extra.get("reason", ""))
    provider = str(error.extra.get("provider", ""))
    heading, text = _PAGES.get(reason, ("cabinet_idp_failed", "cabinet_idp_failed_text"))
    if isinstance(error, ProviderUnavailable):
        heading, text = "idp_unavailable", "cabinet_idp_unavailable"
    linking = ended.purpose == Purpose.CABINET_LINK
    response = cabinet_page(
        request,
        "message.html",
        lang,
        error.status,
        heading=t(heading, lang),
        text=t(text, lang, provider=provider),
        back_url=f"/cabinet/devices?lang={lang}" if linking else f"/cabinet?lang={lang}",
        back_label=t("cabinet_back", lang),
    )
    if isinstance(error, ProviderUnavailable):  # RFC 9110 §10.2.3
        response.headers["Retry-After"] = str(error.retry_after)
    forget_state(response)
    return response
