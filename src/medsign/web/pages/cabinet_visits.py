"""The cabinet's appointments (docs/cabinet.md "Appointments"; shared/API.md "Patient
cabinet"): the patient's visits at every attached clinic on the clinic's clocks, free
slots to book, and "Cancel appointment" asking for a "Reason".

Plain forms without script, like the rest of the cabinet; every post carries the
session's CSRF token. The pages call :mod:`medsign.schedule.service`, which reuses the
appointment service, so the MIS hears of each change by the same webhooks.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from medsign.cabinet.attach import live_links
from medsign.cabinet.service import csrf_token
from medsign.domain.local_time import format_local, zone
from medsign.envelopes.models import Envelope
from medsign.errors import DomainError, InvalidInput, NotFound
from medsign.i18n import t
from medsign.organizations.models import Organization
from medsign.records.models import RecordRequest
from medsign.records.schemas import DELIVERIES
from medsign.records.service import own_request, request_records, requests_of
from medsign.runtime import Runtime
from medsign.schedule.consent_hold import has_holds, hold_for_consent, settle_account, take_notices
from medsign.schedule.service import (
    VisitState,
    book_slot,
    cancel_visit,
    consent_gate,
    free_slots,
    visits_for,
)
from medsign.web.api.documents import pdf_response
from medsign.web.deps import runtime
from medsign.web.page_images import page_image_response
from medsign.web.pages.cabinet import cabinet_page
from medsign.web.pages.cabinet_session import CabinetForm, CabinetVisit, PageVisit, visit_of
from medsign.web.pages.signing import SEAL_WAIT_SECONDS
from medsign.web.pages.viewer import viewer_for

router = APIRouter(prefix="/cabinet", include_in_schema=False)


def _appointments(
    request: Request, cab: CabinetVisit, *, message: str = "", error: str = "", status: int = 200
) -> Response:
    rt, lang, visit = cab
    now = rt.clock()
    with rt.transaction(write=False) as session:
        pending = has_holds(session, visit.account.id)
    if pending:  # back from signing the consent: book what it holds, say what became of it
        with rt.transaction() as session:
            settle_account(session, visit.account.id, now=now)
            notices = take_notices(session, visit.account.id)
        booked = [n for n in notices if n.booked]
        message = " ".join(
            [message]
            + [
                t("booked_ok", lang, service=n.service, doctor=n.doctor, time=n.local_time)
                for n in booked
            ]
        ).strip()
        if len(booked) < len(notices):
            error = f"{error} {t('hold_lost', lang)}".strip()
    with rt.transaction(write=False) as session:
        visits = visits_for(session, visit.account.id, now=now)
        slots = free_slots(session, visit.account.id, now=now)
    return cabinet_page(
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
def appointments_page(request: Request, cab: PageVisit) -> Response:
    """The patient's appointments and the free times to book."""
    done = request.query_params.get("cancelled") == "1"
    return _appointments(request, cab, message=t("cancelled_ok", cab.lang) if done else "")


@router.post("/slots/{slot_id}/book")
def book(request: Request, slot_id: str, form: CabinetForm) -> Response:
    """Book a free slot (409 on the page when someone took it first or holds it). An
    online visit without a signed consent holds the slot and shows the consent to sign;
    its signature books the slot (medsign.schedule.consent_hold)."""
    rt, lang, visit = cab = form.checked()
    try:
        with rt.transaction() as session:
            patient = consent_gate(session, visit.account.id, slot_id)
            if patient is not None:
                held = hold_for_consent(
                    session,
                    rt.keyring,
                    visit.account.id,
                    slot_id,
                    (visit.account.channel, visit.account.contact),
                    lang=lang,
                    hold_for=timedelta(minutes=rt.settings.telemedicine_hold_minutes),
                    consent_ttl=timedelta(days=rt.settings.envelope_ttl_days),
                    now=rt.clock(),
                )
        if patient is not None:
            return cabinet_page(
                request,
                "cabinet_consent.html",
                lang,
                visit=visit,
                csrf=csrf_token(rt.keyring, visit),
                sign_url=f"{held.consent.path}?lang={lang}",
                provider=held.consent.provider_name,
                held_until=held.until,
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
        return _appointments(request, cab, error=exc.detail, status=exc.status)
    return _appointments(request, cab, message=text)


def _cancel_form(
    request: Request,
    cab: CabinetVisit,
    appointment_id: str,
    *,
    reason: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    rt, lang, visit = cab
    now = rt.clock()
    with rt.transaction(write=False) as session:
        views = [
            v for v in visits_for(session, visit.account.id, now=now) if v.id == appointment_id
        ]
    if not views:
        return _appointments(
            request,
            cab,
            error=NotFound("There is no such appointment in your cabinet.").detail,
            status=404,
        )
    return cabinet_page(
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
def cancel_page(request: Request, appointment_id: str, cab: PageVisit) -> Response:
    """Asks for the "Reason" before cancelling."""
    return _cancel_form(request, cab, appointment_id)


@router.post("/appointments/{appointment_id}/cancel")
def cancel(
    request: Request,
    appointment_id: str,
    form: CabinetForm,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Cancel with the reason typed; the MIS gets ``appointment.cancelled``."""
    rt, lang, visit = cab = form.checked()
    try:
        with rt.transaction() as session:
            cancel_visit(session, visit.account.id, appointment_id, reason, now=rt.clock())
    except DomainError as exc:
        if isinstance(exc, NotFound):
            return _appointments(request, cab, error=exc.detail, status=404)
        return _cancel_form(
            request, cab, appointment_id, reason=reason, error=exc.detail, status=exc.status
        )
    return RedirectResponse(f"/cabinet/appointments?lang={lang}&cancelled=1", status_code=303)


# -- record requests (docs/cabinet.md "Record requests") -------------------------------


def _records(
    request: Request, cab: CabinetVisit, *, message: str = "", error: str = "", status: int = 200
) -> Response:
    rt, lang, visit = cab
    with rt.transaction(write=False) as session:
        clinics = live_links(session, visit.account.id)
        requests = requests_of(session, visit.account.id)
    return cabinet_page(
        request,
        "cabinet_records.html",
        lang,
        status,
        visit=visit,
        csrf=csrf_token(rt.keyring, visit),
        clinics=clinics,
        requests=requests,
        deliveries=DELIVERIES,
        message=message,
        error=error,
    )


@router.get("/records", response_class=HTMLResponse)
def records_page(request: Request, cab: PageVisit) -> Response:
    """Ask a clinic for copies of records; the requests and the issued copies."""
    return _records(request, cab)


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("Give dates as on the calendar (YYYY-MM-DD).", field=field) from None


@router.post("/records")
def ask_for_records(
    request: Request,
    form: CabinetForm,
    clinic: Annotated[str, Form(max_length=64)] = "",
    what: Annotated[str, Form(max_length=2000)] = "",
    period_from: Annotated[str, Form(max_length=20)] = "",
    period_to: Annotated[str, Form(max_length=20)] = "",
    delivery: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """The patient's request; the clinic sees it with its deadline."""
    rt, lang, visit = cab = form.checked()
    try:
        with rt.transaction() as session:
            asked = request_records(
                session,
                visit.account.id,
                clinic,
                what=what,
                period_from=_day(period_from, "period_from"),
                period_to=_day(period_to, "period_to"),
                delivery=delivery,
                now=rt.clock(),
            )
            due = asked.due_at.date().isoformat()
    except DomainError as exc:
        return _records(request, cab, error=exc.detail, status=exc.status)
    return _records(request, cab, message=t("records_requested", lang, due=due))


def _issued_copy(rt: Runtime, account_id: str, request_id: str) -> tuple[RecordRequest, str, bool]:
    """The account's request, the SHA-256 of its issued copy ("" before it is issued) and
    whether the clinic's seal is in it; NotFound for another account's request."""
    with rt.transaction(write=False) as session:
        found = own_request(session, account_id, request_id)
        env = session.get(Envelope, found.envelope_id) if found.envelope_id else None
        if env is None:
            return found, "", False
        return found, env.current_sha256, all(s.sealed_at is not None for s in env.signers)


@router.get("/records/{request_id}", response_class=HTMLResponse)
def issued_page(request: Request, request_id: str, cab: PageVisit) -> Response:
    """The issued copy in the document viewer, with its download (docs/viewer.md)."""
    rt, lang, visit = cab
    try:
        found, sha256, sealed = _issued_copy(rt, visit.account.id, request_id)
    except NotFound:
        found, sha256, sealed = None, "", False
    if found is None or not sha256:  # another account's request, or one not answered yet
        return _records(request, cab, error=t("no_such_request", lang), status=404)
    with rt.transaction(write=False) as session:
        org = session.get(Organization, found.organization_id)
        org_name = org.name if org else ""
    base = f"/cabinet/records/{request_id}"
    return cabinet_page(
        request,
        "cabinet_record.html",
        lang,
        visit=visit,
        csrf=csrf_token(rt.keyring, visit),
        item=found,
        org_name=org_name,
        # Only the sealed copy is shown: what "Download the sealed copy" gives.
        viewer=viewer_for(rt, sha256, base=base, title=found.what, pdf_url=f"{base}/records.pdf")
        if sealed
        else None,
        refresh=not sealed,
    )


@router.get("/records/{request_id}/pages/{name}", response_class=Response)
def issued_page_image(request: Request, request_id: str, name: str) -> Response:
    """A page of the sealed copy as an image, to the account that may download it;
    anyone else (no session included), or a copy not sealed yet, gets a 404 problem."""
    rt = runtime(request)
    visit = visit_of(request, rt)
    if visit is None:
        raise NotFound("There is no such request in your cabinet.")
    _, sha256, sealed = _issued_copy(rt, visit.account.id, request_id)
    if not sealed:
        raise NotFound("The copy is not issued and sealed yet; reload the page.")
    return page_image_response(request, rt, sha256, name)


@router.get("/records/{request_id}/records.pdf", response_class=Response)
def issued_pdf(request: Request, request_id: str, cab: PageVisit) -> Response:
    """The issued copy, with the clinic's seal (once the seal job has applied it)."""
    rt, lang, visit = cab
    deadline = time.monotonic() + SEAL_WAIT_SECONDS  # as the signed copy on the signing page
    while True:
        try:
            _, sha256, sealed = _issued_copy(rt, visit.account.id, request_id)
        except NotFound:
            return _records(request, cab, error=t("no_such_request", lang), status=404)
        if sealed or not sha256 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if not sealed:
        return cabinet_page(
            request,
            "message.html",
            lang,
            503,
            heading=t("records", lang),
            text=t("preparing_signed", lang),
            refresh=True,
        )
    return pdf_response(rt.files.get(sha256), "records.pdf", inline=False)
