"""The console's Branding page (admins of the whole organization): logo, colours,
sender name and custom domain (docs/branding.md). The console itself shows the brand
it is editing, so a change is seen at once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from medsign.branding.logo import MAX_LOGO_BYTES
from medsign.branding.schemas import BrandChange, BrandView
from medsign.branding.service import brand_of, save_brand
from medsign.errors import DomainError, LimitExceeded
from medsign.staff.schemas import Action
from medsign.web.deps import runtime
from medsign.web.pages.console.layout import page
from medsign.web.pages.console.session import (
    PATH,
    answer,
    check_csrf,
    session_token,
    staff_transaction,
)

router = APIRouter(prefix=PATH, include_in_schema=False)


def _branding_page(
    request: Request,
    *,
    status_code: int = 200,
    error: str = "",
    saved: bool = False,
    form: BrandChange | None = None,
) -> Response:
    def run() -> Response:
        with staff_transaction(request, write=False, action=Action.SETTINGS) as (
            session,
            actor,
        ):
            brand: BrandView = brand_of(session, actor.organization_id)
        return page(
            request,
            "console/branding.html",
            actor,
            status_code=status_code,
            brand=brand,
            form=form
            or BrandChange(
                brand.primary_color or "",
                brand.accent_color or "",
                brand.sender_name or "",
                brand.custom_domain or "",
            ),
            error=error,
            saved=saved,
            public_url=runtime(request).settings.public_url,
        )

    return answer(request, run)


@router.get("/branding")
def branding(request: Request) -> Response:
    """The organization's brand and the form to change it."""
    return _branding_page(request, saved=request.query_params.get("saved") == "1")


@router.post("/branding")
def save(
    request: Request,
    logo: Annotated[UploadFile | None, File()] = None,
    primary_color: Annotated[str, Form(max_length=100)] = "",
    accent_color: Annotated[str, Form(max_length=100)] = "",
    sender_name: Annotated[str, Form(max_length=200)] = "",
    custom_domain: Annotated[str, Form(max_length=300)] = "",
    remove_logo: Annotated[str, Form(max_length=5)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Save the brand; a refused value keeps the form as typed, with the reason."""
    rt = runtime(request)
    form = BrandChange(primary_color, accent_color, sender_name, custom_domain)

    def run() -> Response:
        check_csrf(rt, session_token(request), csrf)
        try:
            data = logo.file.read(MAX_LOGO_BYTES + 1) if logo is not None else b""
            if len(data) > MAX_LOGO_BYTES:
                raise LimitExceeded(f"The logo is larger than {MAX_LOGO_BYTES // 1024} KB.")
            change = BrandChange(
                primary_color,
                accent_color,
                sender_name,
                custom_domain,
                logo=data or None,
                remove_logo=bool(remove_logo),
            )
            with staff_transaction(request, action=Action.SETTINGS) as (session, actor):
                save_brand(
                    session, actor, change, public_url=rt.settings.public_url, now=rt.clock()
                )
        except DomainError as exc:
            if exc.status in (401, 403):
                raise
            return _branding_page(request, status_code=exc.status, error=exc.detail, form=form)
        return RedirectResponse(f"{PATH}/branding?saved=1", status_code=303)

    return answer(request, run)
