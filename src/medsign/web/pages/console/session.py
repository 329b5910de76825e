"""Console sessions in the browser: the cookie, CSRF tokens, the language, and turning
domain errors into pages.

The session cookie holds a random token whose keyed hash is the session's row
(:mod:`medsign.staff.service`); it is ``HttpOnly``, ``SameSite=Strict`` (RFC 6265bis
§5.4.7) and ``Secure`` when the public URL is https, scoped to ``/console``. Forms
carry a synchronizer token derived from the session token (OWASP CSRF Prevention);
the login form, before any session, one derived from a random pre-login cookie.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from medsign.branches.scope import branch_scope
from medsign.errors import DomainError, Forbidden, Unauthorized
from medsign.i18n import LANGS, pick_lang, t
from medsign.ratelimit.bucket import TokenBuckets
from medsign.runtime import Runtime
from medsign.staff.schemas import Action, Actor
from medsign.staff.service import authenticate, require
from medsign.web.deps import runtime
from medsign.web.pages.cookies import same_secret, secure_cookies
from medsign.web.pages.render import render

COOKIE = "medsign_console"
PRE_COOKIE = "medsign_console_pre"
LANG_COOKIE = "medsign_console_lang"
PATH = "/console"


def lang_of(request: Request) -> str:
    """``?lang=``, then the console's language cookie, then Accept-Language."""
    explicit = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return pick_lang(explicit, request.headers.get("accept-language"), "en")


def set_cookie(response: Response, rt: Runtime, name: str, value: str) -> None:
    """A console cookie: HttpOnly, SameSite=Strict, Secure on https, path /console."""
    response.set_cookie(
        name, value, path=PATH, httponly=True, samesite="strict", secure=secure_cookies(rt)
    )


def remember_lang(request: Request, response: Response) -> Response:
    """Keep a ``?lang=`` choice for the next console pages."""
    chosen = request.query_params.get("lang")
    if chosen in LANGS and chosen != request.cookies.get(LANG_COOKIE):
        set_cookie(response, runtime(request), LANG_COOKIE, chosen)
    return response


def session_token(request: Request) -> str | None:
    """The session token from the cookie."""
    return request.cookies.get(COOKIE) or None


def csrf_token(rt: Runtime, secret: str) -> str:
    """The form token bound to a session (or pre-login) token."""
    return rt.keyring.hash("console-csrf", secret)[:32]


def check_csrf(rt: Runtime, secret: str | None, value: str) -> None:
    """Refuse (403) a form without the token of this browser's session."""
    expected = csrf_token(rt, secret) if secret else ""
    if not expected or not same_secret(value, expected):
        raise Forbidden("The form is out of date or did not come from this site. Reload the page.")


def pre_login_secret(request: Request) -> tuple[str, bool]:
    """The pre-login cookie's value and whether it must be set now."""
    current = request.cookies.get(PRE_COOKIE)
    if current and len(current) >= 32:
        return current, False
    return secrets.token_urlsafe(32), True


def login_allowed(request: Request) -> bool:
    """A token bucket per client address for login attempts (in-process)."""
    app_state = request.app.state
    buckets: TokenBuckets | None = getattr(app_state, "console_login_buckets", None)
    if buckets is None:
        # Per client address; each attempt also costs an argon2 hash.
        buckets = TokenBuckets(runtime(request).settings.console_login_per_minute, 60)
        app_state.console_login_buckets = buckets
    host = request.client.host if request.client else "?"
    return buckets.take(runtime(request).keyring.hash("console-login-ip", host)).allowed


@contextmanager
def staff_transaction(
    request: Request, *, write: bool = True, action: Action = Action.VIEW
) -> Iterator[tuple[Session, Actor]]:
    """A transaction plus the logged-in staff member (401 without a session, 403 when
    their role may not do ``action``); a branch's staff see only their branch
    (:mod:`medsign.branches.scope`)."""
    rt = runtime(request)
    with rt.transaction(write=write) as session:
        actor = authenticate(session, rt.keyring, session_token(request), now=rt.clock())
        require(actor, action)
        with branch_scope(actor.branch_id):
            yield session, actor


def checked_form(request: Request, csrf: str, action: Action) -> None:
    """Before a form's work: a session whose role may do ``action`` and the form's CSRF
    token (403 otherwise)."""
    rt = runtime(request)
    check_csrf(rt, session_token(request), csrf)
    with staff_transaction(request, write=False, action=action):
        pass


def answer(request: Request, build: Callable[[], Response]) -> Response:
    """Run a page's work: no session -> the login page; a domain error -> a page that
    says what happened, with its status."""
    lang = lang_of(request)
    try:
        response = build()
    except Unauthorized:
        return RedirectResponse(f"{PATH}/login", status_code=303)
    except DomainError as exc:
        response = render(
            request,
            "console/message.html",
            lang,
            status_code=exc.status,
            heading=t("console_error", lang),
            text=exc.detail,
            nav=None,
        )
    return remember_lang(request, response)
