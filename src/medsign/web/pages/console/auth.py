"""Logging in and out, the TOTP step, invitations and the account page."""

from __future__ import annotations

from typing import Annotated

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from medsign.errors import DomainError, InvalidInput
from medsign.i18n import t
from medsign.staff import service
from medsign.staff.models import StaffMember
from medsign.staff.schemas import Action
from medsign.web.deps import runtime
from medsign.web.pages.console.layout import page
from medsign.web.pages.console.session import (
    COOKIE,
    PATH,
    PRE_COOKIE,
    answer,
    check_csrf,
    csrf_token,
    lang_of,
    login_allowed,
    pre_login_secret,
    remember_lang,
    session_token,
    set_cookie,
    staff_transaction,
)
from medsign.web.pages.render import render

router = APIRouter(prefix=PATH, include_in_schema=False)


def _login_form(
    request: Request, *, error: str = "", email: str = "", status_code: int = 200
) -> Response:
    rt = runtime(request)
    secret, fresh = pre_login_secret(request)
    lang = lang_of(request)
    response = render(
        request,
        "console/login.html",
        lang,
        status_code=status_code,
        csrf=csrf_token(rt, secret),
        error=error,
        email=email,
        nav=None,
    )
    if fresh:
        set_cookie(response, rt, PRE_COOKIE, secret)
    return remember_lang(request, response)


@router.get("/login")
def login_page(request: Request) -> Response:
    """The login form: "Email", "Password", "Log in"."""
    return _login_form(request)


@router.post("/login")
def login(
    request: Request,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Check the password; a new session token every time (no session fixation)."""
    rt = runtime(request)
    lang = lang_of(request)
    try:
        check_csrf(rt, request.cookies.get(PRE_COOKIE), csrf)
    except DomainError:
        return _login_form(
            request, error=t("console_form_expired", lang), email=email, status_code=403
        )
    if not login_allowed(request):
        return _login_form(request, error=t("console_too_many", lang), email=email, status_code=429)
    outcome = service.login(
        rt.transaction,
        rt.keyring,
        email,
        password,
        now=rt.clock(),
        user_agent=request.headers.get("user-agent", ""),
    )
    if outcome.token is None:
        key = "console_locked" if outcome.error == "locked" else "console_wrong_password"
        return _login_form(request, error=t(key, lang), email=email, status_code=401)
    target = f"{PATH}/totp" if outcome.mfa_pending else PATH
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, rt, COOKIE, outcome.token)
    response.delete_cookie(PRE_COOKIE, path=PATH)
    return response


@router.get("/totp")
def totp_page(request: Request) -> Response:
    """The second step of a login with TOTP: the code from the authenticator app."""
    rt = runtime(request)
    token = session_token(request)
    if not token:
        return RedirectResponse(f"{PATH}/login", status_code=303)
    return remember_lang(
        request,
        render(
            request,
            "console/totp.html",
            lang_of(request),
            csrf=csrf_token(rt, token),
            error="",
            nav=None,
        ),
    )


@router.post("/totp")
def totp(
    request: Request,
    code: Annotated[str, Form(max_length=20)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Check the TOTP code; the pending session is replaced by a new, full one."""
    rt = runtime(request)
    lang = lang_of(request)

    def run() -> Response:
        token = session_token(request)
        check_csrf(rt, token, csrf)
        with rt.transaction() as session:
            new = service.complete_mfa(session, rt.keyring, token, code, now=rt.clock())
        if new is None:
            return render(
                request,
                "console/totp.html",
                lang,
                status_code=401,
                csrf=csrf_token(rt, token or ""),
                error=t("console_wrong_code", lang),
                nav=None,
            )
        response = RedirectResponse(PATH, status_code=303)
        set_cookie(response, rt, COOKIE, new)
        return response

    return answer(request, run)


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form(max_length=64)] = "") -> Response:
    """End this session."""
    rt = runtime(request)

    def run() -> Response:
        token = session_token(request)
        check_csrf(rt, token, csrf)
        with rt.transaction() as session:
            service.logout(session, rt.keyring, token, now=rt.clock())
        response = RedirectResponse(f"{PATH}/login", status_code=303)
        response.delete_cookie(COOKIE, path=PATH)
        return response

    return answer(request, run)


@router.get("/invite/{token}")
def invite_page(request: Request, token: str) -> Response:
    """An invited person sets their password."""
    rt = runtime(request)

    def run() -> Response:
        with rt.transaction(write=False) as session:
            member = service.invitation(session, rt.keyring, token, now=rt.clock())
            email = member.email
        return render(
            request,
            "console/invite.html",
            lang_of(request),
            email=email,
            token=token,
            csrf=csrf_token(rt, token),
            error="",
            nav=None,
        )

    return answer(request, run)


@router.post("/invite/{token}")
def accept_invite(
    request: Request,
    token: str,
    password: Annotated[str, Form(max_length=200)] = "",
    repeat: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Set the password; then log in."""
    rt = runtime(request)
    lang = lang_of(request)

    def run() -> Response:
        check_csrf(rt, token, csrf)
        try:
            if password != repeat:
                raise InvalidInput(t("console_passwords_differ", lang), field="repeat")
            with rt.transaction() as session:
                service.accept_invitation(session, rt.keyring, token, password, now=rt.clock())
        except InvalidInput as exc:
            with rt.transaction(write=False) as session:
                email = service.invitation(session, rt.keyring, token, now=rt.clock()).email
            return render(
                request,
                "console/invite.html",
                lang,
                status_code=422,
                email=email,
                token=token,
                csrf=csrf_token(rt, token),
                error=exc.detail,
                nav=None,
            )
        return RedirectResponse(f"{PATH}/login", status_code=303)

    return answer(request, run)


def _qr_data_uri(uri: str) -> str:
    """The otpauth:// URI as an SVG QR code in a data: URI (CSP allows data: images)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


@router.get("/account")
def account(request: Request) -> Response:
    """Password, TOTP set-up and the list of one's sessions (each can be ended)."""
    rt = runtime(request)

    def run() -> Response:
        with staff_transaction(request, write=False) as (session, actor):
            sessions = service.list_sessions(session, actor, now=rt.clock())
            uri = service.totp_uri(session, rt.keyring, actor)
            member = session.get(StaffMember, actor.staff_id)
            enabled = bool(member and member.totp_enabled)
        return page(
            request,
            "console/account.html",
            actor,
            sessions=sessions,
            totp_enabled=enabled,
            totp_uri=uri,
            totp_qr=_qr_data_uri(uri) if uri else None,
            notice=request.query_params.get("done", ""),
        )

    return answer(request, run)


def _account_action(request: Request, csrf: str, work: str, **kwargs: str) -> Response:
    rt = runtime(request)

    def run() -> Response:
        check_csrf(rt, session_token(request), csrf)
        with staff_transaction(request, action=Action.VIEW) as (session, actor):
            now = rt.clock()
            if work == "password":
                service.change_password(session, actor, kwargs["current"], kwargs["new"], now=now)
            elif work == "totp_start":
                service.begin_totp(session, rt.keyring, actor)
            elif work == "totp_confirm":
                service.confirm_totp(session, rt.keyring, actor, kwargs["code"], now=now)
            elif work == "totp_off":
                service.disable_totp(session, rt.keyring, actor, kwargs["password"], now=now)
            else:
                service.revoke_session(session, actor, kwargs["session_id"], now=now)
        return RedirectResponse(f"{PATH}/account?done={work}", status_code=303)

    return answer(request, run)


@router.post("/account/password")
def change_password(
    request: Request,
    current: Annotated[str, Form(max_length=200)] = "",
    new: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Change one's password (other sessions end)."""
    return _account_action(request, csrf, "password", current=current, new=new)


@router.post("/account/totp/start")
def totp_start(request: Request, csrf: Annotated[str, Form(max_length=64)] = "") -> Response:
    """Create a TOTP key to scan."""
    return _account_action(request, csrf, "totp_start")


@router.post("/account/totp/confirm")
def totp_confirm(
    request: Request,
    code: Annotated[str, Form(max_length=20)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Turn TOTP on with a first code."""
    return _account_action(request, csrf, "totp_confirm", code=code)


@router.post("/account/totp/disable")
def totp_disable(
    request: Request,
    password: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Turn TOTP off (asks for the password)."""
    return _account_action(request, csrf, "totp_off", password=password)


@router.post("/account/sessions/{session_id}/revoke")
def revoke_session(
    request: Request, session_id: str, csrf: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    """End one of one's sessions."""
    return _account_action(request, csrf, "revoke", session_id=session_id)
