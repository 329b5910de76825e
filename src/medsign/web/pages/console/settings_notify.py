"""Settings: notification templates (per event and language), rules (when, which
channels in order) and the organization's time zone, quiet hours and notification
language, through :mod:`medsign.reminders.service` as ``/api/v1/notification-rules``,
``/api/v1/notification-templates`` and ``/api/v1/organization/settings`` do.
Organization-wide: a branch's admin reads them only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from medsign.i18n import LANGS
from medsign.organizations.service import get_organization
from medsign.reminders import service
from medsign.reminders.schemas import NotificationSettingsIn, RuleIn, TemplateIn
from medsign.reminders.templates import EVENT_PARAMS
from medsign.staff.schemas import Actor
from medsign.web.deps import runtime
from medsign.web.pages.console.session import answer
from medsign.web.pages.console.settings_forms import (
    BASE,
    parsed,
    settings_form,
    settings_page,
    settings_read,
)

router = APIRouter(prefix=f"{BASE}/notifications", include_in_schema=False)
HERE = f"{BASE}/notifications"
RULE_EVENTS = tuple(e for e in EVENT_PARAMS if e != "document.sent")
CHANNELS = ("sms", "email", "push", "telegram")
Text = Annotated[str, Form(max_length=2000)]
Short = Annotated[str, Form(max_length=100)]
Csrf = Annotated[str, Form(max_length=64)]


def _page(
    request: Request,
    *,
    status_code: int = 200,
    error: str = "",
    typed: dict[str, Any] | None = None,
) -> Response:
    rt = runtime(request)

    def run() -> Response:
        with settings_read(request) as (session, actor):
            templates = [
                {"id": t.id, "event": t.event, "lang": t.lang, "subject": t.subject, "text": t.text}
                for t in service.list_templates(session, actor.organization_id)
            ]
            rules = [
                {
                    "id": r.id,
                    "event": r.event,
                    "offset_minutes": r.offset_minutes,
                    "channels": list(r.channels),
                    "services": list(r.services or []),
                }
                for r in service.list_rules(session, actor.organization_id)
            ]
            org = get_organization(session, actor.organization_id)
            current = service.settings_out(org, rt.settings.default_lang)
        return settings_page(
            request,
            "console/settings_notify.html",
            actor,
            status_code=status_code,
            templates=templates,
            rules=rules,
            current=current,
            events=RULE_EVENTS,
            template_events=tuple(EVENT_PARAMS),
            params=EVENT_PARAMS,
            channels=CHANNELS,
            langs=LANGS,
            error=error,
            typed=typed or {},
        )

    return answer(request, run)


@router.get("")
def notifications(request: Request) -> Response:
    """Templates, rules and the organization's notification settings."""
    return _page(request)


def _redirect(_value: object) -> Response:
    return RedirectResponse(HERE, status_code=303)


def _change(
    request: Request,
    csrf: str,
    work: Callable[[Session, Actor], None],
    typed: dict[str, Any] | None = None,
) -> Response:
    """An organization-wide change from this page: back to it, or the form with the
    refusal (and what was typed)."""
    return settings_form(
        request,
        csrf,
        work,
        _redirect,
        lambda status, message: _page(request, status_code=status, error=message, typed=typed),
        org_only=True,
    )


@router.post("/templates")
def save_template(
    request: Request,
    event: Short = "",
    lang: Short = "",
    subject: Annotated[str, Form(max_length=300)] = "",
    text: Text = "",
    csrf: Csrf = "",
) -> Response:
    """Save the template of an event in a language (replacing the one there is)."""
    rt = runtime(request)
    typed = {"event": event, "lang": lang, "subject": subject, "text": text}

    def work(session: Session, actor: Actor) -> None:
        body = parsed(TemplateIn, {"event": event, "lang": lang, "subject": subject, "text": text})
        existing = next(
            (
                t.id
                for t in service.list_templates(session, actor.organization_id)
                if t.event == body.event and t.lang == body.lang
            ),
            None,
        )
        service.save_template(
            session,
            actor.organization_id,
            body,
            now=rt.clock(),
            template_id=existing,
            actor=actor.audit_name,
        )

    return _change(request, csrf, work, typed)


@router.post("/templates/{template_id}/delete")
def delete_template(request: Request, template_id: str, csrf: Csrf = "") -> Response:
    """Delete a template (the built-in wording applies again)."""
    rt = runtime(request)

    def work(session: Session, actor: Actor) -> None:
        service.delete_template(
            session, actor.organization_id, template_id, now=rt.clock(), actor=actor.audit_name
        )

    return _change(request, csrf, work)


@router.post("/rules")
def create_rule(
    request: Request,
    event: Short = "",
    offset_minutes: Short = "",
    channel_1: Short = "",
    channel_2: Short = "",
    channel_3: Short = "",
    services: Annotated[str, Form(max_length=2000)] = "",
    csrf: Csrf = "",
) -> Response:
    """Add a rule: its event, the offset in minutes and the channels in order."""
    rt = runtime(request)
    channels = [c for c in (channel_1, channel_2, channel_3) if c]
    typed = {"rule_event": event, "offset_minutes": offset_minutes, "services": services}

    def work(session: Session, actor: Actor) -> None:
        names = [s.strip() for s in services.split(",") if s.strip()]
        body = parsed(
            RuleIn,
            {
                "event": event,
                "offset_minutes": offset_minutes or None,
                "channels": channels,
                "services": names or None,
            },
        )
        service.create_rule(
            session, actor.organization_id, body, now=rt.clock(), actor=actor.audit_name
        )

    return _change(request, csrf, work, typed)


@router.post("/rules/{rule_id}/delete")
def delete_rule(request: Request, rule_id: str, csrf: Csrf = "") -> Response:
    """Stop a rule; nothing more fires."""
    rt = runtime(request)

    def work(session: Session, actor: Actor) -> None:
        service.deactivate_rule(
            session, actor.organization_id, rule_id, now=rt.clock(), actor=actor.audit_name
        )

    return _change(request, csrf, work)


@router.post("/settings")
def change_settings(
    request: Request,
    time_zone: Short = "",
    quiet_start: Short = "",
    quiet_end: Short = "",
    notification_lang: Short = "",
    csrf: Csrf = "",
) -> Response:
    """The time zone, quiet hours (both empty: none) and the notification language."""
    rt = runtime(request)

    def work(session: Session, actor: Actor) -> None:
        quiet = {"start": quiet_start, "end": quiet_end} if quiet_start or quiet_end else None
        body = parsed(
            NotificationSettingsIn,
            {
                "time_zone": time_zone.strip(),
                "quiet_hours": quiet,
                "notification_lang": notification_lang or None,
            },
        )
        org = get_organization(session, actor.organization_id)
        service.update_settings(session, org, body, now=rt.clock(), actor=actor.audit_name)

    return _change(request, csrf, work)
