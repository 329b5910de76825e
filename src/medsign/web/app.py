"""The ASGI application: ``create_app()`` builds everything from settings."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from medsign.db.migrate import upgrade
from medsign.jobs.handlers import Housekeeping, build_handlers
from medsign.jobs.pool import processes_for
from medsign.jobs.worker import Worker
from medsign.runtime import Runtime
from medsign.settings import Settings
from medsign.web import access_log, openapi, problems
from medsign.web.api import (
    appointments,
    audit,
    branches,
    cabinet,
    clinicians,
    device,
    device_push,
    device_webauthn,
    document_templates,
    documents,
    envelopes,
    external,
    health,
    identity_providers,
    invites,
    listing,
    notification_rules,
    notifications,
    patients,
    pki,
    policy,
    record_requests,
    schedule,
    tokens,
    usage,
    verify,
    webhooks,
)
from medsign.web.api_limits import RateLimitMiddleware
from medsign.web.csp import CSP
from medsign.web.idempotency import IdempotencyMiddleware
from medsign.web.pages import (
    brand,
    cabinet_idp,
    cabinet_push,
    cabinet_session,
    cabinet_visits,
    clinician_app,
    dev_outbox,
    edo,
    idp,
    invite,
    public,
    signing,
)
from medsign.web.pages import cabinet as cabinet_pages
from medsign.web.pages.console import auth as console_auth
from medsign.web.pages.console import branding as console_branding
from medsign.web.pages.console import conversions as console_conversions
from medsign.web.pages.console import document_templates as console_document_templates
from medsign.web.pages.console import envelopes as console_envelopes
from medsign.web.pages.console import send as console_send
from medsign.web.pages.console import settings as console_settings
from medsign.web.pages.console import staff as console_staff
from medsign.web.pages.console import templates as console_templates
from medsign.web.static_files import static_router
from medsign.web.transient import TransientErrorMiddleware

log = logging.getLogger("medsign")

HSTS = "max-age=31536000; includeSubDomains"


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    migrate: bool | None = None,
) -> FastAPI:
    """Build the app. On SQLite migrations run at start-up; the worker runs in-process
    unless ``settings.in_process_worker`` is false."""
    rt = runtime or Runtime.build(settings or Settings())
    s = rt.settings
    run_migrations = (
        migrate if migrate is not None else s.resolved_database_url.startswith("sqlite")
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if run_migrations:
            upgrade(s.resolved_database_url)
        rt.seal_keys.trust_roots()  # first start: the development CA exists from now on
        worker = None
        if s.in_process_worker:
            worker = Worker(
                rt,
                build_handlers(rt),
                concurrency=s.worker_concurrency,
                processes=processes_for(s),
            )
            worker.start(Housekeeping())
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            client = getattr(_app.state, "idp_http", None)
            if client is not None:
                client.client.close()
            if runtime is None:
                rt.close()

    app = FastAPI(
        title="medsign",
        version="0.1.0",
        summary="Electronic signatures for clinics: SMS/email codes, PAdES seals, verification.",
        lifespan=lifespan,
        docs_url=None,  # served below from vendored Swagger UI: no CDN, works offline
        redoc_url=None,
    )
    app.state.runtime = rt

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="medsign API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="data:,",
        )

    problems.install(app)
    cabinet_session.install(app)  # a cabinet page without a session: to the login page
    openapi.install(app)  # problem responses, bearer auth (web/openapi.py)
    for module in (
        health,
        document_templates,
        documents,
        envelopes,
        patients,
        policy,
        verify,
        audit,
        pki,
        webhooks,
        tokens,
        branches,
        listing,
        usage,
        notifications,
        identity_providers,
        clinicians,
        device,
        cabinet,
        device_webauthn,
        device_push,
        external,
        appointments,
        schedule,
        invites,
        record_requests,
        notification_rules,
        signing,
        idp,
        edo,
        cabinet_pages,
        cabinet_idp,
        cabinet_push,
        cabinet_visits,
        invite,
        dev_outbox,
        console_auth,
        console_envelopes,
        console_send,
        console_staff,
        console_templates,
        console_settings,
        console_branding,
        console_document_templates,
        console_conversions,
        brand,
        public,
        clinician_app,
    ):
        app.include_router(module.router)
    app.include_router(static_router(Path(__file__).parent / "static"))
    # Innermost: a request that lost a database race runs again before anything else
    # (idempotency records, rate limits) sees it; a database that is away is a 503.
    app.add_middleware(TransientErrorMiddleware)
    app.add_middleware(IdempotencyMiddleware, runtime=rt)
    app.add_middleware(RateLimitMiddleware, runtime=rt)  # outside: replays count too

    hsts = s.public_url.lower().startswith("https://")

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > s.max_upload_bytes + 1024 * 1024:
            # Refused before the body is read or parsed (DESIGN.md "Security floor").
            return problems.problem(
                413,
                "limit-exceeded",
                "Upload over a limit",
                f"The request is larger than the limit of {s.max_upload_bytes} bytes.",
                limit="max_upload_bytes",
            )
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")  # links carry tokens
        if not request.url.path.startswith(("/docs", "/redoc")):
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("X-Frame-Options", "DENY")
        if request.url.path.startswith("/s/"):  # signing pages carry a person's document
            response.headers.setdefault("Cache-Control", "private, no-store")
        if hsts:  # RFC 6797 §6.1: only when the public URL is https
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response

    return app


def app_from_environment() -> FastAPI:
    """The app factory of ``medsign serve`` (uvicorn ``factory=True``, once in each web
    process): settings from the environment, migrations applied by the parent."""
    access_log.install()
    return create_app(Settings(), migrate=False)
