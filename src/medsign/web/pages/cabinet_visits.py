"""The cabinet's appointments (docs/cabinet.md "Appointments"; shared/API.md "Patient
cabinet"): the patient's visits at every attached clinic on the clinic's clocks, free
slots to book, and "Cancel appointment" asking for a "Reason".

Plain forms without script, like the rest of the cabinet; every post carries the
session's CSRF token. The pages call :mod:`medsign.schedule.service`, which reuses the
appointment service, so the MIS hears of each change by the same webhooks.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from medsign.cabinet.service import Visit, csrf_token
from medsign.domain.local_time import format_local, zone
from medsign.errors import DomainError, NotFound
from medsign.i18n import t
from medsign.organizations.models import Organization
from medsign.runtime import Runtime
from medsign.schedule.service import (
    VisitState,
    book_slot,
    cancel_visit,
    consent_gate,
    free_slots,
    visits_for,
)
from medsign.schedule.telemedicine import consent_to_sign
from medsign.web.deps import runtime
from medsign.web.pages.cabinet import _checked_visit, _lang, _page, _to_login, _visit

router = APIRouter(prefix="/cabinet", include_in_schema=False)


def _appointments(
    request: Request,
    rt: Runtime,
    visit: Visit,
    lang: str,
    *,
    message: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    now = rt.clock()
    with rt.transaction(write=False) as session:
        visits = visits_for(session, visit.account.id, now=now)
        slots = free_slots(session, visit.account.id, now=now)
    return _page(
        request,
        "cabinet_appointments.html",
        lang,
        status,
        visit=visit,
        csrf=csrf_token(rt.keyring, visit),
        visits=visits,
        slots=slots,
        upcoming=VisitState.UPCOMING,
        cancelled=VisitState.CANCELLED,
        message=message,
        error=error,
    )


@router.get("/appointments", response_class=HTMLResponse)
def appointments_page(request: Request) -> Response:
    """The patient's appointments and the free times to book."""
    rt = runtime(request)
    lang = _lang(request, rt)
    visit = _visit(request, rt)
    if visit is None:
        return _to_login(lang)
    done = request.query_params.get("cancelled") == "1"
    return _appointments(request, rt, visit, lang, message=t("cancelled_ok", lang) if done else "")


@router.post("/slots/{slot_id}/book")
def book(
    request: Request,
    slot_id: str,
    csrf: Annotated[str, Form(max_length=100)] = "",
    lang: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Book a free slot (409 on the page when someone took it first)."""
    rt = runtime(request)
    lang = _lang(request, rt, lang)
    visit = _checked_visit(request, rt, csrf)
    if visit is None:
        return _to_login(lang)
    try:
        with rt.transaction() as session:
            patient = consent_gate(session, visit.account.id, slot_id)
            if patient is not None:
                todo = consent_to_sign(
                    session,
                    rt.keyring,
                    patient.organization_id,
                    patient,
                    (visit.account.channel, visit.account.contact),
                    lang=lang,
                    ttl=timedelta(days=rt.settings.envelope_ttl_days),
                    now=rt.clock(),
                )
        if patient is not None:
            return _page(
                request,
                "cabinet_consent.html",
                lang,
                visit=visit,
                csrf=csrf_token(rt.keyring, visit),
                sign_url=f"{todo.path}?lang={lang}",
                provider=todo.provider_name,
            )
        with rt.transaction() as session:
            appointment = book_slot(session, visit.account.id, slot_id, now=rt.clock())
            org = session.get(Organization, appointment.organization_id)
            assert org is not None
            text = t(
                "booked_ok",
                lang,
                service=appointment.service,
                doctor=appointment.doctor,
                time=format_local(appointment.starts_at, zone(org.time_zone)),
            )
    except DomainError as exc:
        return _appointments(request, rt, visit, lang, error=exc.detail, status=exc.status)
    return _appointments(request, rt, visit, lang, message=text)


def _cancel_form(
    request: Request,
    rt: Runtime,
    visit: Visit,
    appointment_id: str,
    lang: str,
    *,
    reason: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    now = rt.clock()
    with rt.transaction(write=False) as session:
        views = [
            v for v in visits_for(session, visit.account.id, now=now) if v.id == appointment_id
        ]
    if not views:
        return _appointments(
            request,
            rt,
            visit,
            lang,
            error=NotFound("There is no such appointment in your cabinet.").detail,
            status=404,
        )
    return _page(
        request,
        "cabinet_cancel.html",
        lang,
        status,
        visit=visit,
        csrf=csrf_token(rt.keyring, visit),
        item=views[0],
        upcoming=VisitState.UPCOMING,
        reason=reason,
        error=error,
    )


@router.get("/appointments/{appointment_id}/cancel", response_class=HTMLResponse)
def cancel_page(request: Request, appointment_id: str) -> Response:
    """Asks for the "Reason" before cancelling."""
    rt = runtime(request)
    lang = _lang(request, rt)
    visit = _visit(request, rt)
    if visit is None:
        return _to_login(lang)
    return _cancel_form(request, rt, visit, appointment_id, lang)


@router.post("/appointments/{appointment_id}/cancel")
def cancel(
    request: Request,
    appointment_id: str,
    reason: Annotated[str, Form(max_length=1000)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
    lang: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Cancel with the reason typed; the MIS gets ``appointment.cancelled``."""
    rt = runtime(request)
    lang = _lang(request, rt, lang)
    visit = _checked_visit(request, rt, csrf)
    if visit is None:
        return _to_login(lang)
    try:
        with rt.transaction() as session:
            cancel_visit(session, visit.account.id, appointment_id, reason, now=rt.clock())
    except DomainError as exc:
        if isinstance(exc, NotFound):
            return _appointments(request, rt, visit, lang, error=exc.detail, status=404)
        return _cancel_form(
            request,
            rt,
            visit,
            appointment_id,
            lang,
            reason=reason,
            error=exc.detail,
            status=exc.status,
        )
    return RedirectResponse(f"/cabinet/appointments?lang={lang}&cancelled=1", status_code=303)
