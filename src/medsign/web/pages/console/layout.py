"""The console's navigation and page rendering (each area is one nav entry, shown
to the roles that may use it; later areas, such as settings pages, add theirs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from medsign.staff.schemas import Action, Actor, allows
from medsign.web.deps import runtime
from medsign.web.pages.console.session import csrf_token, lang_of, remember_lang, session_token
from medsign.web.pages.render import render


@dataclass(frozen=True)
class NavItem:
    """One entry of the console's navigation."""

    href: str
    label_key: str
    action: Action


NAV: tuple[NavItem, ...] = (
    NavItem("/console", "nav_envelopes", Action.VIEW),
    NavItem("/console/send", "nav_send", Action.SEND),
    NavItem("/console/bulk", "nav_bulk", Action.SEND),
    NavItem("/console/templates", "nav_templates", Action.SEND),
    NavItem("/console/document-templates", "nav_document_templates", Action.SEND),
    NavItem("/console/staff", "nav_staff", Action.MANAGE_STAFF),
    NavItem("/console/settings", "nav_settings", Action.SETTINGS),
    NavItem("/console/branding", "nav_branding", Action.SETTINGS),
    NavItem("/console/account", "nav_account", Action.VIEW),
)


def page(
    request: Request, template: str, actor: Actor, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render a console page for ``actor``: nav, the form token and the language."""
    lang = lang_of(request)
    token = session_token(request) or ""
    nav = [item for item in NAV if allows(actor.role, item.action)]
    response = render(
        request,
        template,
        lang,
        status_code=status_code,
        nav=nav,
        here=request.url.path,
        actor=actor,
        csrf=csrf_token(runtime(request), token),
        **context,
    )
    response.headers["Cache-Control"] = "private, no-store"  # patients' names and documents
    remember_lang(request, response)
    return response
