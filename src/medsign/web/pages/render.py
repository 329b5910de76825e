"""Rendering server-side pages: templates, language, direction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from medsign.i18n import LANGS, RTL, pick_lang, t

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))


def page_lang(request: Request, fallback: str = "en") -> str:
    """``?lang=`` first, then the browser's Accept-Language, then ``fallback``."""
    return pick_lang(
        request.query_params.get("lang") or None,
        request.headers.get("accept-language"),
        fallback,
    )


def render(
    request: Request, template: str, lang: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render ``template`` with the language helpers in its context."""

    def tr(key: str, **params: object) -> str:
        return t(key, lang, **params)

    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "lang": lang,
            "dir": "rtl" if lang in RTL else "ltr",
            "langs": LANGS,
            "t": tr,
            **context,
        },
        status_code=status_code,
    )
