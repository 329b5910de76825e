"""The trip to an identity provider and back (shared/API.md "Identity providers").

``POST /s/{token}/idp`` ("Sign with <provider>") sends the browser to the provider with
the login's ``state`` also kept in a cookie; ``GET /idp/callback/{provider_id}`` is
where the provider sends it back, for every purpose: the login found by its state says
whether it signs (here) or logs in to the cabinet (web/pages/cabinet_idp.py). Every
ending that does not succeed is a page that says why and what to do next, never a 500
(medsign.identity.trip).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from medsign.envelopes.signing import open_link
from medsign.errors import DomainError, LinkExpired, LoginRejected, ProviderUnavailable
from medsign.i18n import LANGS, t
from medsign.identity.login import finish_login, start_login
from medsign.identity.trip import Claimed, Ended, Purpose, claim
from medsign.web.deps import runtime
from medsign.web.pages import cabinet_idp
from medsign.web.pages.idp_state import COOKIE, forget_state, identity_or_failure, keep_state
from medsign.web.pages.render import page_lang, render
from medsign.web.pages.signing import (
    _check_form,
    _client,
    _dead_link,
    _page_with_error,
)

router = APIRouter(include_in_schema=False)


@router.post("/s/{token}/idp")
def begin(
    request: Request,
    token: str,
    csrf: Annotated[str, Form()] = "",
    lang: Annotated[str, Form()] = "",
) -> Response:
    """Send the patient to their identity provider to sign by logging in."""
    rt = runtime(request)
    try:
        with rt.transaction() as session:
            view = open_link(session, rt.keyring, token, now=rt.clock())
            _check_form(rt, view, csrf)
            lang = lang if lang in LANGS else view.signer.lang
        with rt.transaction() as session:
            started = start_login(
                session,
                rt.keyring,
                token,
                public_url=rt.settings.public_url,
                lang=lang,
                now=rt.clock(),
            )
    except LinkExpired as exc:
        return _dead_link(request, exc)
    except DomainError as exc:
        return _page_with_error(request, token, exc, lang)
    response = RedirectResponse(started.url, status_code=303)
    keep_state(response, rt, started.state)  # RFC 6749 §10.12: bound to this browser
    return response


def _ended(request: Request, ended: Ended) -> Response:
    """The page for a login that signed nothing (the status code of its error)."""
    if ended.purpose != Purpose.SIGN:
        return cabinet_idp.ended_page(request, ended)
    lang = ended.lang if ended.lang in LANGS else page_lang(request)
    error = ended.error
    if isinstance(error, ProviderUnavailable):
        heading, text = t("idp_unavailable", lang), t("idp_unavailable_text", lang)
    elif isinstance(error, LoginRejected) and error.reason == "identity-mismatch":
        heading, text = t("idp_mismatch", lang), error.detail
    elif isinstance(error, LinkExpired):
        heading, text = t("envelope_closed", lang), t("envelope_closed_text", lang)
    else:
        heading, text = t("idp_failed", lang), error.detail
    back = f"/s/{ended.link_token}?lang={lang}" if ended.link_token else None
    if isinstance(error, LinkExpired):
        back = None
    response = render(
        request,
        "message.html",
        lang,
        status_code=error.status,
        heading=heading,
        text=text,
        back_url=back,
    )
    if isinstance(error, ProviderUnavailable):  # RFC 9110 §10.2.3
        response.headers["Retry-After"] = str(error.retry_after)
    response.headers["Cache-Control"] = "no-store"
    forget_state(response)
    return response


@router.get("/idp/callback/{provider_id}", response_class=HTMLResponse)
def callback(request: Request, provider_id: str) -> Response:
    """Where the provider sends the patient back (OIDC Core §3.1.2.5 and §3.1.2.6)."""
    rt = runtime(request)
    params = {k: v[:2000] for k, v in request.query_params.items()}
    with rt.transaction() as session:
        claimed = claim(
            session,
            rt.keyring,
            provider_id,
            params,
            request.cookies.get(COOKIE),
            public_url=rt.settings.public_url,
            now=rt.clock(),
        )
    if isinstance(claimed, Ended):
        return _ended(request, claimed)
    if claimed.purpose != Purpose.SIGN:
        return cabinet_idp.complete(request, claimed, params["code"])
    return _complete(request, claimed, params["code"])


def _complete(request: Request, claimed: Claimed, code: str) -> Response:
    rt = runtime(request)
    identity = identity_or_failure(request, claimed, code)
    if isinstance(identity, DomainError):
        return _ended(request, Ended(identity, claimed.link_token, claimed.lang))
    with rt.transaction() as session:
        result = finish_login(
            session, rt.keyring, claimed, identity, client=_client(request), now=rt.clock()
        )
    if isinstance(result, Ended):
        return _ended(request, result)
    response = RedirectResponse(f"/s/{claimed.link_token}?lang={claimed.lang}", status_code=303)
    forget_state(response)
    return response
