"""The clinician app: ``/app``, an installable web app (W3C Web Application Manifest,
Service Workers) that enrolls the device's WebCrypto key and approves signing requests.

The page is a shell rendered in the clinician's language; everything else happens in
``web/static/app/app.js`` against the device API (``/device/v1``). The invitation link
(``enrollment_url``) opens this page with the enrollment token.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from medsign.i18n import RTL, TEXTS, t
from medsign.web.pages.render import page_lang, render
from medsign.web.static_files import load_assets

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).parent.parent / "static"
SCOPE = "/app"
# What the app's script shows itself (the rest is in the template).
SCRIPT_TEXTS = [key for key in TEXTS if key.startswith("app_")] + [
    "decline",
    "page_n",
    "loading",
    "zoom_text",
]


@router.get("/app", response_class=HTMLResponse)
def clinician_app(request: Request) -> Response:
    """The app shell; ``?enroll=TOKEN`` or ``#enroll=TOKEN`` starts an enrollment."""
    lang = page_lang(request)
    response = render(
        request,
        "clinician_app.html",
        lang,
        texts={key: t(key, lang) for key in SCRIPT_TEXTS},
    )
    # The enrollment token may be in the query: never cache it, never send it onwards.
    response.headers["Cache-Control"] = "private, no-store"
    return response


@router.get("/app/manifest.webmanifest")
def manifest(request: Request) -> Response:
    """The Web Application Manifest (W3C appmanifest §1): standalone, scoped to /app."""
    lang = page_lang(request)
    body = {
        "id": SCOPE,
        "name": f"medsign — {t('app_title', lang)}",
        "short_name": t("app_title", lang),
        "description": t("app_intro", lang),
        "lang": lang,
        "dir": "rtl" if lang in RTL else "ltr",
        "start_url": f"{SCOPE}?lang={lang}",
        "scope": SCOPE,
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5cad",
        "icons": [
            {"src": "/static/app/icon.svg", "sizes": "any", "type": "image/svg+xml"},
            {"src": "/static/app/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/static/app/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {
                "src": "/static/app/icon-512.png",
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    return JSONResponse(body, media_type="application/manifest+json")


@router.get("/app/sw.js")
def service_worker() -> Response:
    """The service worker, served from /app/ and allowed the /app scope (Service Workers
    §4.1.2 ``Service-Worker-Allowed``); always revalidated, so updates reach the app."""
    return Response(
        load_assets(STATIC)["app/sw.js"].raw,
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": SCOPE, "Cache-Control": "no-cache"},
    )
