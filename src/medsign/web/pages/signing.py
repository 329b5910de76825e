"""The signing page a signer opens from their link (shared/API.md "Pages").

Labels are part of the contract: "Send code", "Code", "Sign", "Decline", "Signed".
Works without JavaScript (plain forms, 303 redirects, the document as page images);
with it, "Send code" does not reload the page and pdf.js is loaded when the signer asks
for zoom and text selection (web/pages/viewer.py, docs/viewer.md).
"""

from __future__ import annotations

import hmac
import time
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from medsign.domain.states import EnvelopeStatus
from medsign.envelopes.signing import (
    Client,
    LinkState,
    LinkView,
    decline,
    open_link,
    send_code,
    sign,
)
from medsign.errors import Conflict, DomainError, InvalidInput, LinkExpired
from medsign.i18n import LANGS, t
from medsign.identity.models import IdentityProvider
from medsign.runtime import Runtime
from medsign.web.api.documents import pdf_response
from medsign.web.csp import csp_allowing_form_target
from medsign.web.deps import runtime
from medsign.web.page_images import page_image_response
from medsign.web.pages.brand import brand_for
from medsign.web.pages.render import page_lang, render
from medsign.web.pages.viewer import viewer_for
from medsign.web.problems import domain_problem

router = APIRouter(prefix="/s", include_in_schema=False)
SEAL_WAIT_SECONDS = 20.0


def _client(request: Request) -> Client:
    return Client(
        request.client.host if request.client else None, request.headers.get("user-agent")
    )


def _csrf(rt: Runtime, view: LinkView) -> str:
    return rt.keyring.hash("csrf", view.signer.id)[:32]


def _check_form(rt: Runtime, view: LinkView, value: str) -> None:
    """The signer may act now, and the form carries the token bound to them (OWASP
    synchronizer token pattern); else the error that says what is going on."""
    if view.state is LinkState.CLOSED:
        raise LinkExpired("This document can no longer be signed (withdrawn or expired).")
    if view.state is not LinkState.CAN_SIGN:
        raise Conflict(f"This document cannot be signed now ({view.state.value}).")
    # Bytes: compare_digest refuses non-ASCII str, and a stranger may send any text.
    if not hmac.compare_digest(value.encode(), _csrf(rt, view).encode()):
        raise InvalidInput("The form is out of date. Reload the page and try again.")


def _closed(view: LinkView, now: datetime) -> bool:
    """The envelope is over for good (voided, expired or ended by someone else): its
    links show nothing of the document (no title, no names, no PDF)."""
    env = view.envelope
    if view.state is LinkState.CLOSED:
        return True
    if env.status in (EnvelopeStatus.VOIDED.value, EnvelopeStatus.EXPIRED.value):
        return True
    return env.status == EnvelopeStatus.SENT.value and env.expires_at <= now


def _closed_page(request: Request, view: LinkView) -> HTMLResponse:
    """A short page with no document and no name (410 Gone, RFC 9110 §15.5.11)."""
    lang = page_lang(request, view.signer.lang)
    return render(
        request,
        "message.html",
        lang,
        status_code=410,
        heading=t("envelope_closed", lang),
        text=t("envelope_closed_text", lang),
    )


def _dead_link(request: Request, exc: DomainError) -> HTMLResponse:
    lang = page_lang(request)
    return render(
        request,
        "message.html",
        lang,
        status_code=exc.status,
        heading=t("link_dead", lang),
        text=t("link_dead_text", lang),
    )


def _page(
    request: Request,
    token: str,
    view: LinkView,
    *,
    error: str | None = None,
    sent: bool = False,
    status_code: int = 200,
    lang: str = "",
) -> HTMLResponse:
    rt = runtime(request)
    lang = lang if lang in LANGS else page_lang(request, view.signer.lang)
    brand = brand_for(request, view.envelope.organization_id)
    if view.state in (LinkState.SIGNED, LinkState.DECLINED, LinkState.VIEW):
        return render(
            request,
            "done.html",
            lang,
            status_code=status_code,
            brand=brand,
            view=view,
            token=token,
            signed=view.state in (LinkState.SIGNED, LinkState.VIEW),
        )
    if view.state is not LinkState.CAN_SIGN:
        waiting = view.state is LinkState.WAITING
        if waiting and view.signer.role == "viewer":
            return render(
                request,
                "message.html",
                lang,
                status_code=status_code,
                brand=brand,
                heading=view.document.title,
                text=t("viewer_waiting", lang),
            )
        return render(
            request,
            "message.html",
            lang,
            status_code=status_code,
            brand=brand,
            heading=t("not_your_turn" if waiting else "envelope_closed", lang),
            text=t("not_your_turn_text" if waiting else "envelope_closed_text", lang),
        )
    if view.signer.method == "cabinet":  # signed inside the patient cabinet
        return render(
            request,
            "message.html",
            lang,
            status_code=status_code,
            brand=brand,
            heading=view.document.title,
            text=t("cabinet_sign_there", lang, url=rt.cabinet_url()),
        )
    channel = "sms" if view.signer.method == "sms_otp" else "email"
    provider = idp_button(rt, view)
    response = render(
        request,
        "sign.html",
        lang,
        status_code=status_code,
        brand=brand,
        view=view,
        token=token,
        csrf=_csrf(rt, view),
        viewer=viewer_for(
            rt,
            view.envelope.current_sha256,
            base=f"/s/{token}",
            title=view.document.title,
            pdf_url=f"/s/{token}/document.pdf",
        ),
        error=error,
        sent_text=t(f"code_sent_{channel}", lang, contact=view.masked_contact) if sent else "",
        provider_name=provider[0] if provider else None,
    )
    if provider is not None:
        response.headers["Content-Security-Policy"] = csp_allowing_form_target(provider[1])
    return response


def idp_button(rt: Runtime, view: LinkView) -> tuple[str, str] | None:
    """For a method ``idp`` signer: the provider's name (the button "Sign with <name>")
    and its authorization endpoint (where the button's form leads)."""
    if view.signer.identity_provider_id is None:
        return None
    with rt.transaction() as session:
        provider = session.get(IdentityProvider, view.signer.identity_provider_id)
        if provider is None:
            return None
        return provider.name, str(provider.discovery["authorization_endpoint"])


@router.get("/{token}", response_class=HTMLResponse)
def signing_page(request: Request, token: str) -> Response:
    """The document, "Send code", "Code", "Sign" and "Decline"."""
    rt = runtime(request)
    try:
        with rt.transaction() as session:
            view = open_link(session, rt.keyring, token, now=rt.clock())
    except LinkExpired as exc:
        return _dead_link(request, exc)
    if _closed(view, rt.clock()):
        return _closed_page(request, view)
    return _page(request, token, view, sent=request.query_params.get("sent") == "1")


def _shown_document(request: Request, token: str) -> str | Response:
    """The SHA-256 of the PDF the link shows now, or the page that says why it shows none."""
    rt = runtime(request)
    try:
        with rt.transaction(write=False) as session:
            view = open_link(session, rt.keyring, token, now=rt.clock())
            sha256 = view.envelope.current_sha256
    except LinkExpired as exc:
        return _dead_link(request, exc)
    if _closed(view, rt.clock()):
        return _closed_page(request, view)
    return sha256


@router.get("/{token}/document.pdf", response_class=Response)
def document_pdf(request: Request, token: str) -> Response:
    """The PDF as it stands now (what the signer reads and signs)."""
    sha256 = _shown_document(request, token)
    if isinstance(sha256, Response):
        return sha256
    response = pdf_response(runtime(request).files.get(sha256), "document.pdf", inline=True)
    response.headers["X-Document-SHA256"] = sha256
    response.headers["Cache-Control"] = "private, no-store"
    return response


@router.get("/{token}/pages/{name}", response_class=Response)
def page_image(request: Request, token: str, name: str) -> Response:
    """One page of the document as an image (``<n>.webp?w=480&v=...``), drawn once."""
    sha256 = _shown_document(request, token)
    if isinstance(sha256, Response):
        return sha256
    return page_image_response(request, runtime(request), sha256, name)


def _page_with_error(request: Request, token: str, exc: DomainError, lang: str) -> HTMLResponse:
    """The signing page as it stands now, with the refusal's text shown (status kept)."""
    rt = runtime(request)
    with rt.transaction() as session:
        view = open_link(session, rt.keyring, token, now=rt.clock())
    response = _page(request, token, view, error=exc.detail, status_code=exc.status, lang=lang)
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, int):  # RFC 9110 §10.2.3, on the HTML 429 too
        response.headers["Retry-After"] = str(retry_after)
    return response


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _back(token: str, lang: str, **params: str) -> RedirectResponse:
    query = "&".join([f"lang={lang}", *(f"{k}={v}" for k, v in params.items())])
    return RedirectResponse(f"/s/{token}?{query}", status_code=303)


@router.post("/{token}/code")
def request_code(
    request: Request,
    token: str,
    csrf: Annotated[str, Form()] = "",
    lang: Annotated[str, Form()] = "",
) -> Response:
    """Send a one-time code over the signer's channel."""
    rt = runtime(request)
    try:
        with rt.transaction() as session:
            view = open_link(session, rt.keyring, token, now=rt.clock())
            _check_form(rt, view, csrf)
        with rt.transaction() as session:
            view = send_code(session, rt.keyring, rt.otp_rules, token, now=rt.clock())
    except LinkExpired as exc:
        return domain_problem(exc) if _wants_json(request) else _dead_link(request, exc)
    except DomainError as exc:
        if _wants_json(request):
            return domain_problem(exc)
        return _page_with_error(request, token, exc, lang)
    lang = lang or page_lang(request, view.signer.lang)
    if _wants_json(request):
        channel = "sms" if view.signer.method == "sms_otp" else "email"
        return JSONResponse(
            {"sent": True, "message": t(f"code_sent_{channel}", lang, contact=view.masked_contact)}
        )
    return _back(token, lang, sent="1")


@router.post("/{token}/sign")
def sign_document(
    request: Request,
    token: str,
    code: Annotated[str, Form(max_length=20)] = "",
    csrf: Annotated[str, Form()] = "",
    shown_sha256: Annotated[str, Form(max_length=64)] = "",
    lang: Annotated[str, Form()] = "",
) -> Response:
    """Check the code and sign; a second press after success just shows "Signed"."""
    rt = runtime(request)
    try:
        with rt.transaction() as session:
            view = open_link(session, rt.keyring, token, now=rt.clock())
            if view.state is LinkState.SIGNED:
                return _back(token, lang or view.signer.lang)  # double submit: already done
            _check_form(rt, view, csrf)
        with rt.transaction() as session:
            outcome = sign(
                session,
                rt.keyring,
                rt.otp_rules,
                token,
                code,
                shown_sha256=shown_sha256 or None,
                client=_client(request),
                now=rt.clock(),
            )
    except LinkExpired as exc:
        return _dead_link(request, exc)
    except DomainError as exc:
        return _page_with_error(request, token, exc, lang)
    if outcome.error is not None:
        return _page(
            request,
            token,
            outcome.view,
            error=outcome.error.detail,
            status_code=422,
            sent=True,
            lang=lang,
        )
    return _back(token, lang or outcome.view.signer.lang)


@router.post("/{token}/decline")
def decline_document(
    request: Request,
    token: str,
    reason: Annotated[str, Form(max_length=1000)] = "",
    csrf: Annotated[str, Form()] = "",
    lang: Annotated[str, Form()] = "",
) -> Response:
    """Refuse to sign, with an optional reason."""
    rt = runtime(request)
    try:
        with rt.transaction() as session:
            view = open_link(session, rt.keyring, token, now=rt.clock())
            _check_form(rt, view, csrf)
        with rt.transaction() as session:
            view = decline(
                session, rt.keyring, token, reason, client=_client(request), now=rt.clock()
            )
    except LinkExpired as exc:
        return _dead_link(request, exc)
    except DomainError as exc:
        return _page_with_error(request, token, exc, lang)
    return _back(token, lang or view.signer.lang)


@router.get("/{token}/signed.pdf", response_class=Response)
def signed_pdf(request: Request, token: str) -> Response:
    """The PDF with this signer's signature (waits briefly while the seal is applied)."""
    rt = runtime(request)
    deadline = time.monotonic() + SEAL_WAIT_SECONDS
    while True:
        try:
            with rt.transaction() as session:
                view = open_link(session, rt.keyring, token, now=rt.clock())
                sha256 = view.envelope.current_sha256
        except LinkExpired as exc:
            return _dead_link(request, exc)
        if _closed(view, rt.clock()):
            return _closed_page(request, view)
        if view.state not in (LinkState.SIGNED, LinkState.VIEW):
            return _back(token, page_lang(request, view.signer.lang))
        if view.signed_pdf_ready:
            return pdf_response(rt.files.get(sha256), "signed.pdf")
        if time.monotonic() > deadline:
            lang = page_lang(request, view.signer.lang)
            return render(
                request,
                "message.html",
                lang,
                status_code=503,
                heading=t("signed", lang),
                text=t("preparing", lang),
                refresh=True,
            )
        time.sleep(0.2)
