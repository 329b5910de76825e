"""An organization's brand assets, served by medsign itself so the pages' CSP stays
``img-src 'self'; style-src 'self'``: the stylesheet with its colours and the logo
(medsign's own PNG re-encoding, never the uploaded bytes). URLs carry the brand's
version, so they may be cached for long (RFC 9111 §5.2.2.1)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from medsign.branding.schemas import BrandView
from medsign.branding.service import brand_for_host, brand_of, logo_bytes, stylesheet
from medsign.errors import NotFound
from medsign.web.deps import runtime

router = APIRouter(prefix="/brand", include_in_schema=False)
_CACHE = "public, max-age=86400"


@router.get("/{organization_id}/style.css")
def brand_stylesheet(request: Request, organization_id: str) -> Response:
    """The organization's colours as CSS custom properties."""
    with runtime(request).transaction(write=False) as session:
        css = stylesheet(brand_of(session, organization_id))
    return Response(css, media_type="text/css", headers={"Cache-Control": _CACHE})


@router.get("/{organization_id}/logo.png")
def brand_logo(request: Request, organization_id: str) -> Response:
    """The organization's logo (404 when it has none)."""
    with runtime(request).transaction(write=False) as session:
        data = logo_bytes(session, organization_id)
    if data is None:
        raise NotFound("This organization has no logo.")
    return Response(data, media_type="image/png", headers={"Cache-Control": _CACHE})


def brand_for(request: Request, organization_id: str | None) -> BrandView | None:
    """The brand a page shows: the organization it is about, else the one whose custom
    domain the request arrived on (``Host``), else none (medsign's own look)."""
    with runtime(request).transaction(write=False) as session:
        if organization_id:
            return brand_of(session, organization_id)
        return brand_for_host(session, request.headers.get("host"))
