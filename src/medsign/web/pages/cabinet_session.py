"""Who is asking: the cabinet session behind a page or a form post (docs/cabinet.md).

Every cabinet page needs the runtime, the visitor's language and the visit (the live
session of the ``medsign_cabinet`` cookie); without a session the visitor goes back to
the login page in that language. :func:`page_visit` and :func:`posted_form` are the
FastAPI dependencies that find them, once per request; :class:`LoginNeeded` is the way
back to the login page, answered by the handler :func:`install` registers. Form posts
carry the session's synchronizer token (OWASP CSRF cheat sheet).

Handlers that answer something else without a session (page images: a 404 problem;
"Log out"; the login forms themselves) use :func:`visit_of` / :func:`checked_visit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, NamedTuple

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse

from medsign.cabinet.service import Visit, csrf_token, current_visit
from medsign.i18n import LANGS
from medsign.runtime import Runtime
from medsign.web.deps import runtime
from medsign.web.pages.cookies import same_secret
from medsign.web.pages.render import page_lang

SESSION_COOKIE = "medsign_cabinet"


def form_lang(request: Request, rt: Runtime, posted: str = "") -> str:
    """The language a form posted, else the page's (``?lang=``, the browser, the default)."""
    return posted if posted in LANGS else page_lang(request, rt.settings.default_lang)


def session_idle(rt: Runtime) -> timedelta:
    """How long a cabinet session lives without a visit."""
    return timedelta(days=rt.settings.cabinet_session_days)


def visit_of(request: Request, rt: Runtime) -> Visit | None:
    """The cabinet session of this request's cookie, or None (log in again)."""
    # Read-mostly: the session's last visit is written at most every few minutes.
    with rt.transaction(write=False) as session:
        return current_visit(
            session,
            rt.keyring,
            request.cookies.get(SESSION_COOKIE),
            idle=session_idle(rt),
            now=rt.clock(),
        )


def checked_visit(request: Request, rt: Runtime, csrf: str) -> Visit | None:
    """The visit of a form post whose token matches its session (None: log in again)."""
    visit = visit_of(request, rt)
    if visit is None or not same_secret(csrf, csrf_token(rt.keyring, visit)):
        return None
    return visit


def to_login(lang: str) -> RedirectResponse:
    """Back to the cabinet's login page, in ``lang`` (303: a GET follows a post)."""
    return RedirectResponse(f"/cabinet?lang={lang}", status_code=303)


class LoginNeeded(Exception):
    """No live session (or a form post whose token is not its session's): the answer
    is :func:`to_login` in ``lang``."""

    def __init__(self, lang: str) -> None:
        super().__init__(lang)
        self.lang = lang


class CabinetVisit(NamedTuple):
    """What a cabinet handler works with: the runtime, the language, the visit
    (immutable; unpacks as ``rt, lang, visit = cab``)."""

    rt: Runtime
    lang: str
    visit: Visit


def page_visit(request: Request) -> CabinetVisit:
    """The dependency of a cabinet page (a GET): its visit, or LoginNeeded."""
    rt = runtime(request)
    lang = form_lang(request, rt)
    visit = visit_of(request, rt)
    if visit is None:
        raise LoginNeeded(lang)
    return CabinetVisit(rt, lang, visit)


@dataclass(frozen=True, slots=True)
class PostedForm:
    """A cabinet form post's token and language, checked by :meth:`checked`.

    The check runs in the handler, not in the dependency: FastAPI validates the
    handler's own form fields after its dependencies, and a malformed post stays the
    422 it was before it is a trip to the login page (nor does it touch the session).
    """

    request: Request
    csrf: str
    lang: str

    def checked(self) -> CabinetVisit:
        """The visit whose token the form carries (looked up once: call it once), or
        LoginNeeded in the language the form posted."""
        rt = runtime(self.request)
        lang = form_lang(self.request, rt, self.lang)
        visit = checked_visit(self.request, rt, self.csrf)
        if visit is None:
            raise LoginNeeded(lang)
        return CabinetVisit(rt, lang, visit)


def posted_form(
    request: Request,
    csrf: Annotated[str, Form(max_length=100)] = "",
    lang: Annotated[str, Form(max_length=5)] = "",
) -> PostedForm:
    """The dependency of a cabinet form post: its ``csrf`` and ``lang`` fields."""
    return PostedForm(request, csrf, lang)


PageVisit = Annotated[CabinetVisit, Depends(page_visit)]
CabinetForm = Annotated[PostedForm, Depends(posted_form)]


def install(app: FastAPI) -> None:
    """Answer LoginNeeded with the redirect to the login page."""

    @app.exception_handler(LoginNeeded)
    async def _login_needed(_request: Request, exc: LoginNeeded) -> RedirectResponse:
        return to_login(exc.lang)
