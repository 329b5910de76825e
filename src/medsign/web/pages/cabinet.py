"""The patient cabinet's pages (shared/API.md "Patient cabinet"; docs/cabinet.md).

Labels are part of the contract: "Phone or email", "Send code", "Code", "Log in",
"Accept", "Attach code", "Attach", "Sign". Plain forms, no script: every page works on
a cheap phone without JavaScript. A page that shows one document (a clinic's document,
a user agreement) shows it with the document viewer: page images first, pdf.js only on
request (web/pages/viewer.py, docs/viewer.md); the lists load no viewer. Forms
carry CSRF tokens: before login a double-submit cookie, after it a token bound to the
session (OWASP CSRF cheat sheet). The session cookie is HttpOnly, SameSite=Lax and
Secure when the public URL is https (RFC 6265bis §4.1).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from medsign.cabinet.attach import AttachLimits, attach, detach_by_patient, live_links
from medsign.cabinet.idp import linked_identities
from medsign.cabinet.library import (
    accept_agreement,
    documents_for,
    own_signer,
    pending_agreements,
    share_file,
    shared_files,
    sign_document,
)
from medsign.cabinet.models import CabinetSettings
from medsign.cabinet.service import (
    Visit,
    csrf_token,
    end_all_sessions,
    end_session,
    live_sessions,
    log_in,
    parse_contact,
    send_login_code,
)
from medsign.documents.models import Document
from medsign.documents.service import Upload, intake_limits, prepare_document
from medsign.envelopes.signing import Client, LinkState, signer_view
from medsign.errors import DomainError, InvalidInput, NotFound, TooManyRequests
from medsign.i18n import t
from medsign.identity.models import IdentityProvider
from medsign.identity.service import cabinet_providers
from medsign.notify.subscriptions import CABINET, Holder, endpoints_of
from medsign.notify.webpush import public_key_of
from medsign.organizations.models import Organization
from medsign.ratelimit.bucket import TokenBuckets
from medsign.runtime import Runtime
from medsign.web.api.documents import pdf_response
from medsign.web.csp import csp_allowing_form_target
from medsign.web.deps import runtime
from medsign.web.page_images import page_image_response
from medsign.web.pages.brand import brand_for
from medsign.web.pages.cabinet_session import (
    SESSION_COOKIE,
    CabinetForm,
    CabinetVisit,
    PageVisit,
    checked_visit,
    form_lang,
    session_idle,
    to_login,
    visit_of,
)
from medsign.web.pages.cookies import same_secret, secure_cookies
from medsign.web.pages.render import render
from medsign.web.pages.signing import SEAL_WAIT_SECONDS
from medsign.web.pages.viewer import viewer_for

router = APIRouter(prefix="/cabinet", include_in_schema=False)

FORM_COOKIE = "medsign_cabinet_form"  # the double-submit token of the login forms
_buckets_lock = threading.Lock()


# -- plumbing -------------------------------------------------------------------------


def client_of(request: Request) -> Client:
    """The visitor's address and browser, as sessions and evidence record them."""
    return Client(
        request.client.host if request.client else None, request.headers.get("user-agent")
    )


def cabinet_page(
    request: Request, template: str, lang: str, status: int = 200, **ctx: Any
) -> Response:
    """A cabinet page: the template with the visitor's masked contact and the brand."""
    visit = ctx.get("visit")
    if isinstance(visit, Visit):
        # The contact reads left to right inside right-to-left text (Unicode bidi
        # isolates, UAX #9 §2.7): "+7999***4567", never "4567***7999+".
        ctx["me"] = f"\u2066{visit.contact.masked}\u2069"
    # A document's page shows its organization's brand; other pages the brand of the
    # organization whose custom domain this is, if any (docs/branding.md).
    envelope = getattr(ctx.get("view"), "envelope", None)
    org_id = getattr(envelope, "organization_id", None)
    ctx.setdefault("brand", brand_for(request, org_id if isinstance(org_id, str) else None))
    response = render(request, template, lang, status_code=status, **ctx)
    response.headers["Cache-Control"] = "private, no-store"  # a person's own data
    return response


def _bucket(request: Request, name: str, quota: int) -> TokenBuckets:
    """Per-address buckets of this app (in-process, like the verification limit)."""
    state = request.app.state
    with _buckets_lock:
        bucket: TokenBuckets | None = getattr(state, name, None)
        if bucket is None:
            bucket = TokenBuckets(quota, window=3600)
            setattr(state, name, bucket)
    return bucket


def limit_address(request: Request, name: str, quota: int) -> None:
    """One request from this client address, or TooManyRequests (RFC 6585 §4)."""
    address = request.client.host if request.client else "unknown"
    decision = _bucket(request, name, quota).take(address)
    if not decision.allowed:
        raise TooManyRequests(
            "Too many attempts from your network. Try again in "
            f"{max(1, decision.retry_after // 60)} min.",
            retry_after=decision.retry_after,
        )


# -- login ----------------------------------------------------------------------------


def login_page(
    request: Request,
    rt: Runtime,
    lang: str,
    *,
    contact: str = "",
    sent: str = "",
    error: str = "",
    notice: str = "",
    status: int = 200,
) -> Response:
    """The login form (with its double-submit cookie) and the identity providers'
    buttons."""
    form_token = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)
    providers = offered_providers(request, rt)
    response = cabinet_page(
        request,
        "cabinet_login.html",
        lang,
        status,
        csrf=form_token,
        providers=providers,
        contact=contact,
        sent=sent,
        error=error,
        notice=notice,
    )
    response.set_cookie(
        FORM_COOKIE,
        form_token,
        httponly=True,
        secure=secure_cookies(rt),
        samesite="lax",
        path="/cabinet",
    )
    return allow_providers(response, providers)


def check_form_cookie(request: Request, value: str) -> None:
    """InvalidInput unless a login form's token matches its double-submit cookie."""
    if not same_secret(value, request.cookies.get(FORM_COOKIE, "")):
        raise InvalidInput("The form is out of date. Reload the page and try again.")


def host_organization(request: Request) -> str | None:
    """The organization whose custom domain this request came to, if any."""
    brand = brand_for(request, None)
    return brand.organization_id if brand else None


def offered_providers(request: Request, rt: Runtime) -> list[tuple[str, str, str]]:
    """(id, name, authorization endpoint) of the identity providers the cabinet offers
    on this host: an organization's own on its custom domain, every organization's on
    the main host."""
    host_org = host_organization(request)
    with rt.transaction(write=False) as session:
        return [
            (p.id, p.name, str(p.discovery["authorization_endpoint"]))
            for p in cabinet_providers(session, host_org)
        ]


def allow_providers(response: Response, providers: list[tuple[str, str, str]]) -> Response:
    """Let the page's provider buttons lead to the providers (CSP form-action)."""
    if providers:
        endpoints = [url for _id, _name, url in providers]
        response.headers["Content-Security-Policy"] = csp_allowing_form_target(*endpoints)
    return response


def set_session_cookie(response: Response, rt: Runtime, token: str) -> None:
    """Give this device its cabinet session (HttpOnly, SameSite=Lax, RFC 6265bis §4.1)."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(session_idle(rt).total_seconds()),
        httponly=True,
        secure=secure_cookies(rt),
        samesite="lax",
        path="/cabinet",
    )
    response.delete_cookie(FORM_COOKIE, path="/cabinet")


@router.get("", response_class=HTMLResponse)
def home(request: Request) -> Response:
    """The login form, or the cabinet: agreements to accept, clinics, documents."""
    rt = runtime(request)
    lang = form_lang(request, rt)
    visit = visit_of(request, rt)
    if visit is None:
        notice = t("logged_out", lang) if request.query_params.get("out") == "1" else ""
        return login_page(request, rt, lang, notice=notice)
    return _home(request, CabinetVisit(rt, lang, visit))


@router.post("/code")
def request_code(
    request: Request,
    contact: Annotated[str, Form(max_length=300)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
    lang: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Send a login code to the phone or email typed."""
    rt = runtime(request)
    lang = form_lang(request, rt, lang)
    try:
        check_form_cookie(request, csrf)
        parsed = parse_contact(contact)
        limit_address(request, "cabinet_code_bucket", rt.settings.cabinet_codes_per_ip_per_hour)
        with rt.transaction() as session:
            send_login_code(session, rt.keyring, rt.otp_rules, parsed, lang=lang, now=rt.clock())
    except DomainError as exc:
        response = login_page(
            request, rt, lang, contact=contact, error=exc.detail, status=exc.status
        )
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    sent = t("cabinet_code_sent", lang, contact=parsed.masked)
    return login_page(request, rt, lang, contact=parsed.value, sent=sent)


@router.post("/login")
def login(
    request: Request,
    contact: Annotated[str, Form(max_length=300)] = "",
    code: Annotated[str, Form(max_length=20)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
    lang: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Check the code; on success the device gets its session cookie."""
    rt = runtime(request)
    lang = form_lang(request, rt, lang)
    try:
        check_form_cookie(request, csrf)
        parsed = parse_contact(contact)
        limit_address(
            request, "cabinet_login_bucket", 5 * rt.settings.cabinet_codes_per_ip_per_hour
        )
        with rt.transaction() as session:
            client = client_of(request)
            outcome = log_in(
                session,
                rt.keyring,
                rt.otp_rules,
                parsed,
                code,
                lang=lang,
                ip=client.ip,
                user_agent=client.user_agent,
                now=rt.clock(),
            )
    except DomainError as exc:
        return login_page(request, rt, lang, contact=contact, error=exc.detail, status=exc.status)
    if outcome.token is None:
        assert outcome.error is not None
        return login_page(
            request, rt, lang, contact=parsed.value, error=outcome.error.detail, status=422
        )
    response = to_login(lang)
    set_session_cookie(response, rt, outcome.token)
    return response


def _logged_out(lang: str) -> RedirectResponse:
    response = RedirectResponse(f"/cabinet?lang={lang}&out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/cabinet")
    return response


@router.post("/logout")
def logout(
    request: Request,
    csrf: Annotated[str, Form(max_length=100)] = "",
    lang: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """End this device's session."""
    rt = runtime(request)
    lang = form_lang(request, rt, lang)
    visit = checked_visit(request, rt, csrf)
    if visit is not None:
        with rt.transaction() as session:
            end_session(session, visit.account.id, visit.session.id, now=rt.clock())
    return _logged_out(lang)


# -- the cabinet's home ---------------------------------------------------------------


def _home(
    request: Request, cab: CabinetVisit, *, message: str = "", error: str = "", status: int = 200
) -> Response:
    rt, lang, visit = cab
    now = rt.clock()
    with rt.transaction(write=False) as session:
        agreements = pending_agreements(session, visit)
        clinics = live_links(session, visit.account.id)
        documents = documents_for(session, rt.keyring, visit.account, now)
        held = {a.organization.id for a in agreements}
        documents = [d for d in documents if d.view.envelope.organization_id not in held]
        holder = Holder(CABINET, visit.account.id, session_id=visit.session.id)
        push_endpoints = endpoints_of(session, holder)
    return cabinet_page(
        request,
        "cabinet_home.html",
        lang,
        status,
        visit=visit,
        csrf=csrf_token(rt.keyring, visit),
        agreements=agreements,
        clinics=clinics,
        documents=documents,
        message=message,
        error=error,
        push_key=public_key_of(rt.settings.data_dir / "keys"),
        push_endpoints=push_endpoints,
    )


@router.post("/attach")
def attach_clinic(
    request: Request,
    form: CabinetForm,
    code: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Attach to the clinic whose card the code was issued for."""
    rt, lang, visit = cab = form.checked()
    try:
        limit_address(
            request, "cabinet_attach_bucket", 3 * rt.settings.cabinet_attach_failures_per_ip
        )
        with rt.transaction() as session:
            outcome = attach(
                session,
                rt.keyring,
                visit.account,
                code,
                ip=client_of(request).ip,
                limits=AttachLimits.from_settings(rt.settings),
                now=rt.clock(),
                cabinet_url=rt.cabinet_url(),
            )
    except DomainError as exc:
        response = _home(request, cab, error=exc.detail, status=exc.status)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if outcome.error is not None:
        return _home(request, cab, error=outcome.error.detail, status=outcome.error.status)
    return _home(request, cab, message=t("attached_to", lang, org=outcome.organization_name))


@router.post("/links/{link_id}/detach")
def detach_clinic(request: Request, link_id: str, form: CabinetForm) -> Response:
    """The patient detaches from a clinic."""
    rt, lang, visit = cab = form.checked()
    try:
        with rt.transaction() as session:
            name = detach_by_patient(session, visit.account.id, link_id, now=rt.clock())
    except DomainError as exc:
        return _home(request, cab, error=exc.detail, status=exc.status)
    return _home(request, cab, message=t("detached_from", lang, org=name))


@router.post("/agreements/{organization_id}/accept")
def accept(request: Request, organization_id: str, form: CabinetForm) -> Response:
    """Accept a clinic's user agreement (a signed envelope of kind user_agreement)."""
    rt, lang, visit = cab = form.checked()
    try:
        with rt.transaction() as session:
            env = accept_agreement(
                session,
                rt.keyring,
                visit,
                organization_id,
                client=client_of(request),
                lang=lang,
                ttl=timedelta(days=rt.settings.envelope_ttl_days),
                now=rt.clock(),
            )
            org_name = signer_view(session, env.signers[0], env, rt.clock()).organization_name
    except DomainError as exc:
        return _home(request, cab, error=exc.detail, status=exc.status)
    return _home(request, cab, message=t("accepted", lang, org=org_name))


def _agreement(
    rt: Runtime, visit: Visit, organization_id: str
) -> tuple[str, Document, bool] | None:
    """The clinic's user agreement this account may read: (the clinic's name, the
    document, whether it awaits "Accept"); None when it may not (nothing leaks)."""
    with rt.transaction(write=False) as session:
        item = next(
            (a for a in pending_agreements(session, visit) if a.organization.id == organization_id),
            None,
        )
        if item is not None:
            return item.organization.name, item.document, True
        settings = session.get(CabinetSettings, organization_id)
        linked = {
            link.organization_id: org.name for link, org in live_links(session, visit.account.id)
        }
        if settings is None or organization_id not in linked:
            return None
        doc = session.get(Document, settings.user_agreement_document_id or "")
        return None if doc is None else (linked[organization_id], doc, False)


@router.get("/agreements/{organization_id}", response_class=HTMLResponse)
def agreement_page(request: Request, organization_id: str, cab: PageVisit) -> Response:
    """The clinic's user agreement in the document viewer, with "Accept" while it waits."""
    rt, lang, visit = cab
    found = _agreement(rt, visit, organization_id)
    if found is None:
        return _not_found(request, rt)
    org_name, doc, pending = found
    base = f"/cabinet/agreements/{organization_id}"
    return cabinet_page(
        request,
        "cabinet_agreement.html",
        lang,
        visit=visit,
        csrf=csrf_token(rt.keyring, visit),
        organization_id=organization_id,
        org_name=org_name,
        pending=pending,
        viewer=viewer_for(
            rt, doc.sha256, base=base, title=doc.title, pdf_url=f"{base}/agreement.pdf"
        ),
    )


@router.get("/agreements/{organization_id}/agreement.pdf", response_class=Response)
def agreement_pdf(request: Request, organization_id: str, cab: PageVisit) -> Response:
    """The clinic's user agreement, to read before pressing "Accept"."""
    rt, _lang, visit = cab
    found = _agreement(rt, visit, organization_id)
    if found is None:
        return _not_found(request, rt)
    return pdf_response(rt.files.get(found[1].sha256), "agreement.pdf", inline=True)


@router.get("/agreements/{organization_id}/pages/{name}", response_class=Response)
def agreement_page_image(request: Request, organization_id: str, name: str) -> Response:
    """A page of the user agreement as an image, to whoever may read its PDF; anyone
    else (no session included) gets a 404 problem, as for a page that does not exist."""
    rt = runtime(request)
    visit = visit_of(request, rt)
    found = None if visit is None else _agreement(rt, visit, organization_id)
    if found is None:
        raise NotFound("There is no such document in your cabinet.")
    return page_image_response(request, rt, found[1].sha256, name)


def _not_found(request: Request, rt: Runtime) -> Response:
    lang = form_lang(request, rt)
    return cabinet_page(
        request,
        "message.html",
        lang,
        404,
        heading=t("no_documents", lang),
        text=NotFound("There is no such document in your cabinet.").detail,
    )


# -- documents from clinics -----------------------------------------------------------


@router.get("/documents/{signer_id}", response_class=HTMLResponse)
def document_page(request: Request, signer_id: str, cab: PageVisit) -> Response:
    """One document: read it (PDF), sign it, or get the signed copy and evidence."""
    return _document(request, cab, signer_id)


def _document(
    request: Request, cab: CabinetVisit, signer_id: str, *, error: str = "", status: int = 200
) -> Response:
    rt, lang, visit = cab
    try:
        with rt.transaction(write=False) as session:
            signer = own_signer(session, visit.account, signer_id)
            view = signer_view(session, signer, signer.envelope, rt.clock())
            token = (
                rt.keyring.link_token(signer.id, signer.link_version)
                if signer.method != "cabinet"
                else None
            )
    except NotFound:
        return _not_found(request, rt)
    base = f"/cabinet/documents/{signer_id}"
    return cabinet_page(
        request,
        "cabinet_document.html",
        lang,
        status,
        visit=visit,
        csrf=csrf_token(rt.keyring, visit),
        view=view,
        # The PDF as it stands: once signed, the copy "Download the signed PDF" gives.
        viewer=viewer_for(
            rt,
            view.envelope.current_sha256,
            base=base,
            title=view.document.title,
            pdf_url=f"{base}/document.pdf",
        ),
        link_token=token,
        error=error,
        can_sign=view.state is LinkState.CAN_SIGN,
        # the seal job is still putting the signature into the PDF: look again shortly
        refresh=view.state is LinkState.SIGNED and not view.signed_pdf_ready,
    )


@router.post("/documents/{signer_id}/sign")
def sign(
    request: Request,
    signer_id: str,
    form: CabinetForm,
    shown_sha256: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Sign with method ``cabinet`` (the logged-in patient's simple signature)."""
    rt, lang, visit = cab = form.checked()
    try:
        with rt.transaction() as session:
            sign_document(
                session,
                visit,
                signer_id,
                shown_sha256=shown_sha256 or None,
                client=client_of(request),
                lang=lang,
                now=rt.clock(),
            )
    except DomainError as exc:
        return _document(request, cab, signer_id, error=exc.detail, status=exc.status)
    return RedirectResponse(f"/cabinet/documents/{signer_id}?lang={lang}", status_code=303)


def _own_pdf(request: Request, cab: CabinetVisit, signer_id: str, *, signed: bool) -> Response:
    """The document, or (``signed``) the copy with the patient's signature, waiting
    briefly while the seal job applies it (as the signing page does)."""
    rt, lang, visit = cab
    deadline = time.monotonic() + SEAL_WAIT_SECONDS
    while True:
        try:
            with rt.transaction(write=False) as session:
                signer = own_signer(session, visit.account, signer_id)
                sealed = signer.sealed_at is not None
                sha256 = signer.envelope.current_sha256
        except NotFound:
            return _not_found(request, rt)
        if not signed or sealed:
            break
        if time.monotonic() > deadline:
            return cabinet_page(
                request,
                "message.html",
                lang,
                503,
                heading=t("signed", lang),
                text=t("preparing_signed", lang),
                refresh=True,
            )
        time.sleep(0.2)
    name = "signed.pdf" if signed else "document.pdf"
    return pdf_response(rt.files.get(sha256), name, inline=not signed)


@router.get("/documents/{signer_id}/document.pdf", response_class=Response)
def document_pdf(request: Request, signer_id: str, cab: PageVisit) -> Response:
    """The PDF as it stands now (what the patient reads and signs)."""
    return _own_pdf(request, cab, signer_id, signed=False)


@router.get("/documents/{signer_id}/signed.pdf", response_class=Response)
def signed_pdf(request: Request, signer_id: str, cab: PageVisit) -> Response:
    """The PDF with the patient's signature in it."""
    return _own_pdf(request, cab, signer_id, signed=True)


@router.get("/documents/{signer_id}/pages/{name}", response_class=Response)
def document_page_image(request: Request, signer_id: str, name: str) -> Response:
    """A page of the document as an image (``<n>.webp?w=480&v=...``), to the account
    that may open its PDF (its own signer, through a clinic still attached); another
    account, a detached clinic or no session gets a 404 problem, so nothing leaks."""
    rt = runtime(request)
    visit = visit_of(request, rt)
    if visit is None:
        raise NotFound("There is no such document in your cabinet.")
    with rt.transaction(write=False) as session:
        sha256 = own_signer(session, visit.account, signer_id).envelope.current_sha256
    return page_image_response(request, rt, sha256, name)


@router.get("/documents/{signer_id}/evidence.json", response_class=Response)
def evidence(request: Request, signer_id: str, cab: PageVisit) -> Response:
    """The patient's own signature evidence (who, how, what, where, the consent text)."""
    rt, _lang, visit = cab
    try:
        with rt.transaction(write=False) as session:
            signer = own_signer(session, visit.account, signer_id)
            data = signer.evidence
    except NotFound:
        return _not_found(request, rt)
    if data is None:
        return _not_found(request, rt)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True),
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="evidence.json"',
            "Cache-Control": "private, no-store",
        },
    )


# -- "Documents": files the patient shares with a clinic ------------------------------


def _files(
    request: Request, cab: CabinetVisit, *, message: str = "", error: str = "", status: int = 200
) -> Response:
    rt, lang, visit = cab
    with rt.transaction(write=False) as session:
        clinics = live_links(session, visit.account.id)
        shared = shared_files(session, visit.account.id)
    return cabinet_page(
        request,
        "cabinet_files.html",
        lang,
        status,
        visit=visit,
        csrf=csrf_token(rt.keyring, visit),
        clinics=clinics,
        shared=shared,
        message=message,
        error=error,
    )


@router.get("/files", response_class=HTMLResponse)
def files_page(request: Request, cab: PageVisit) -> Response:
    """The "Documents" section: share a file with a clinic; what was shared."""
    return _files(request, cab)


@router.post("/files")
def share(
    request: Request,
    form: CabinetForm,
    file: Annotated[UploadFile, File()],
    clinic: Annotated[str, Form(max_length=64)] = "",
    title: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Share a file with an attached clinic (intake limits apply)."""
    rt, lang, visit = cab = form.checked()
    try:
        data = file.file.read(rt.settings.max_upload_bytes + 1)
        prepared = prepare_document(
            title=title.strip() or (file.filename or "file")[:200],
            kind="other",
            uploads=[Upload(file.filename or "file", file.content_type, data)],
            limits=intake_limits(rt.settings),
        )
        with rt.transaction() as session:
            shared = share_file(session, rt.files, visit, clinic, prepared, now=rt.clock())
            org = session.get(Organization, shared.organization_id)
            org_name = org.name if org else ""
    except DomainError as exc:
        return _files(request, cab, error=exc.detail, status=exc.status)
    return _files(request, cab, message=t("shared_with", lang, org=org_name))


# -- devices --------------------------------------------------------------------------


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


@router.get("/devices", response_class=HTMLResponse)
def devices(request: Request, cab: PageVisit) -> Response:
    """The devices logged in, each with "Log out", and "Log out everywhere"."""
    return devices_page(request, cab)


def devices_page(
    request: Request, cab: CabinetVisit, *, message: str = "", error: str = "", status: int = 200
) -> Response:
    """The devices page: sessions with how each logged in, the linked identity
    providers (each with "Unlink") and the providers that may be linked."""
    rt, lang, visit = cab
    offered = offered_providers(request, rt)
    with rt.transaction(write=False) as session:
        sessions = live_sessions(session, visit.account.id)
        linked = linked_identities(session, visit.account.id)
        used = {s.identity_provider_id for s in sessions if s.identity_provider_id}
        names = {
            provider_id: name
            for provider_id, name in session.execute(
                select(IdentityProvider.id, IdentityProvider.name).where(
                    IdentityProvider.id.in_(used)
                )
            )
        }
    response = cabinet_page(
        request,
        "cabinet_devices.html",
        lang,
        status,
        visit=visit,
        csrf=csrf_token(rt.keyring, visit),
        sessions=sessions,
        provider_names=names,
        linked=linked,
        offered=offered,
        message=message,
        error=error,
        when=_when,
    )
    return allow_providers(response, offered)


@router.post("/devices/{session_id}/end")
def end_device(session_id: str, form: CabinetForm) -> Response:
    """Log one device out."""
    rt, lang, visit = form.checked()
    with rt.transaction() as session:
        end_session(session, visit.account.id, session_id, now=rt.clock())
    if session_id == visit.session.id:
        return _logged_out(lang)
    return RedirectResponse(f"/cabinet/devices?lang={lang}", status_code=303)


@router.post("/devices/end-all")
def end_all(form: CabinetForm) -> Response:
    """ "Log out everywhere": every device of the account, this one included."""
    rt, lang, visit = form.checked()
    with rt.transaction() as session:
        end_all_sessions(session, visit.account.id, now=rt.clock())
    return _logged_out(lang)
