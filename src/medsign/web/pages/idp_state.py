"""The cookie that binds a login at an identity provider to the browser that started
it (RFC 6749 §10.12), shared by signing (web/pages/idp.py) and the cabinet
(web/pages/cabinet_idp.py): both come back through the one callback per provider."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from medsign.errors import LoginRejected, ProviderUnavailable
from medsign.identity.trip import Claimed, Identity, fail_claimed, fetch_identity
from medsign.runtime import Runtime
from medsign.web.deps import runtime
from medsign.web.idp_http import idp_http
from medsign.web.pages.cookies import secure_cookies

COOKIE = "medsign_idp_state"
COOKIE_PATH = "/idp/"
COOKIE_SECONDS = 30 * 60  # the patient has half an hour at the provider


def keep_state(response: Response, rt: Runtime, state: str) -> None:
    """Keep the login's ``state`` in this browser until the provider sends it back.
    SameSite=Lax lets the provider's top-level redirect back carry it (RFC 6265bis
    §5.4.7)."""
    response.set_cookie(
        COOKIE,
        state,
        max_age=COOKIE_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(rt),
    )


def forget_state(response: Response) -> None:
    """The login is over: drop its state cookie."""
    response.delete_cookie(COOKIE, path=COOKIE_PATH)


def identity_or_failure(
    request: Request, claimed: Claimed, code: str
) -> Identity | ProviderUnavailable | LoginRejected:
    """Trade the provider's ``code`` for the identity (no database transaction waits on
    the provider); a failure is recorded on the login and returned, to be shown."""
    rt = runtime(request)
    try:
        return fetch_identity(idp_http(request), claimed, code, now=rt.clock())
    except (ProviderUnavailable, LoginRejected) as exc:
        with rt.transaction() as session:
            fail_claimed(session, claimed, exc, now=rt.clock())
        return exc
