"""Templates, rules and the organization's notification settings: saving, checking,
listing. Every change that moves fire times queues a ``schedule`` job in the same
transaction (:mod:`medsign.reminders.schedule` does the work)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.branches.service import require_organization_scope
from medsign.domain.local_time import zone
from medsign.errors import Conflict, InvalidInput, NotFound
from medsign.jobs.outbox import JobKind, enqueue
from medsign.organizations.models import Organization
from medsign.reminders.models import NotificationRule, NotificationTemplate, ScheduledNotification
from medsign.reminders.schemas import (
    NotificationSettingsIn,
    NotificationSettingsOut,
    PreviewOut,
    QuietHours,
    RuleIn,
    TemplateIn,
    TemplatePreviewIn,
)
from medsign.reminders.templates import SAMPLE, check_event, check_lang, check_source, render

MAX_RULES = 100
MAX_TEMPLATES = 200
BIRTHDAY = "patient.birthday"


# --- templates -------------------------------------------------------------------------


def check_template(body: TemplateIn) -> None:
    """Refuse (422) an unknown event or language, a template that does not parse, or
    one that names a parameter its event does not have."""
    check_event(body.event)
    check_lang(body.lang)
    check_source(body.event, body.subject, field="subject")
    check_source(body.event, body.text, field="text")
    if body.html is not None:
        check_source(body.event, body.html, field="html", html=True)


def preview_template(body: TemplatePreviewIn) -> PreviewOut:
    """Render a template with sample values (or the given ones) without saving it."""
    check_template(body)
    allowed = check_event(body.event)
    unknown = sorted(set(body.params) - set(allowed))
    if unknown:
        raise InvalidInput(
            f"Unknown parameter(s) {', '.join(unknown)}; {body.event} has {', '.join(allowed)}.",
            field="params",
        )
    params = {k: SAMPLE[k] for k in allowed} | body.params
    out = render(body.subject, body.text, body.html, params)
    return PreviewOut(subject=out.subject, text=out.text, html=out.html)


def save_template(
    session: Session,
    organization_id: str,
    body: TemplateIn,
    *,
    now: datetime,
    template_id: str | None = None,
    actor: str = "api",
) -> NotificationTemplate:
    """Create a template (409 when the event and language have one) or, with
    ``template_id``, replace one."""
    require_organization_scope("save notification templates")
    check_template(body)
    if template_id is None:
        count = session.scalars(
            select(NotificationTemplate.id).where(
                NotificationTemplate.organization_id == organization_id
            )
        ).all()
        if len(count) >= MAX_TEMPLATES:
            raise Conflict(f"An organization may have at most {MAX_TEMPLATES} templates.")
        row = NotificationTemplate(organization_id=organization_id, created_at=now)
    else:
        row = get_template(session, organization_id, template_id)
    row.event, row.lang = body.event, body.lang
    row.subject, row.text, row.html = body.subject, body.text, body.html
    row.updated_at = now
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise Conflict(
            f"There is a {body.event} template in {body.lang!r} already; change that one.",
            field="event",
        ) from None
    record(
        session,
        organization_id,
        "notification_template.saved",
        at=now,
        actor=actor,
        data={"id": row.id, "event": row.event, "lang": row.lang},
    )
    return row


def get_template(session: Session, organization_id: str, template_id: str) -> NotificationTemplate:
    """The organization's template, or NotFound."""
    row = session.get(NotificationTemplate, template_id)
    if row is None or row.organization_id != organization_id:
        raise NotFound(f"No notification template with id {template_id} in this organization.")
    return row


def list_templates(session: Session, organization_id: str) -> list[NotificationTemplate]:
    """The organization's templates by event and language."""
    return list(
        session.scalars(
            select(NotificationTemplate)
            .where(NotificationTemplate.organization_id == organization_id)
            .order_by(NotificationTemplate.event, NotificationTemplate.lang)
        )
    )


def delete_template(
    session: Session, organization_id: str, template_id: str, *, now: datetime, actor: str = "api"
) -> None:
    """Delete a template (the built-in wording applies again)."""
    require_organization_scope("delete notification templates")
    row = get_template(session, organization_id, template_id)
    session.delete(row)
    record(
        session,
        organization_id,
        "notification_template.deleted",
        at=now,
        actor=actor,
        data={"id": template_id},
    )


# --- rules -----------------------------------------------------------------------------


def _check_rule(body: RuleIn) -> None:
    if body.event == "appointment.before" and body.offset_minutes < 1:
        raise InvalidInput("A reminder comes at least 1 minute before.", field="offset_minutes")
    if body.event == BIRTHDAY and body.offset_minutes >= 24 * 60:
        raise InvalidInput(
            "For birthdays `offset_minutes` is the local time of day: 0 to 1439.",
            field="offset_minutes",
        )
    if body.event == "appointment.after_service":
        if not body.services or not all(s.strip() for s in body.services):
            raise InvalidInput("Name the services this rule follows.", field="services")
    elif body.services is not None:
        raise InvalidInput("`services` goes with appointment.after_service.", field="services")
    if body.statuses is not None and body.event != "appointment.status_changed":
        raise InvalidInput("`statuses` goes with appointment.status_changed.", field="statuses")
    if body.set_status is not None:
        if body.event == BIRTHDAY:
            raise InvalidInput("A birthday greeting has no appointment.", field="set_status")
        if body.set_status.value == "cancelled":
            raise InvalidInput(
                "A rule cannot cancel an appointment (a cancellation needs a reason).",
                field="set_status",
            )
    for lang, text in (body.template or {}).items():
        check_lang(lang)
        if not text.strip():
            raise InvalidInput(f"The {lang!r} template is empty.", field="template")
        check_source(body.event, text, field=f"template.{lang}")


def create_rule(
    session: Session, organization_id: str, body: RuleIn, *, now: datetime, actor: str = "api"
) -> NotificationRule:
    """Save a rule and queue the job that schedules its targets."""
    require_organization_scope("create notification rules")
    _check_rule(body)
    active = session.scalars(
        select(NotificationRule.id).where(
            NotificationRule.organization_id == organization_id,
            NotificationRule.active.is_(True),
        )
    ).all()
    if len(active) >= MAX_RULES:
        raise Conflict(f"An organization may have at most {MAX_RULES} active rules.")
    rule = NotificationRule(
        organization_id=organization_id,
        event=body.event,
        offset_minutes=body.offset_minutes,
        channels=list(body.channels),
        template=dict(body.template) if body.template else None,
        services=[s.strip() for s in body.services] if body.services else None,
        statuses=[s.value for s in body.statuses] if body.statuses else None,
        set_status=body.set_status.value if body.set_status else None,
        active=True,
        created_at=now,
    )
    session.add(rule)
    session.flush()
    enqueue(session, JobKind.SCHEDULE, {"rule_id": rule.id}, now=now)
    record(
        session,
        organization_id,
        "notification_rule.created",
        at=now,
        actor=actor,
        data={"id": rule.id, "event": rule.event},
    )
    return rule


def get_rule(session: Session, organization_id: str, rule_id: str) -> NotificationRule:
    """The organization's rule, or NotFound."""
    rule = session.get(NotificationRule, rule_id)
    if rule is None or rule.organization_id != organization_id or not rule.active:
        raise NotFound(f"No notification rule with id {rule_id} in this organization.")
    return rule


def list_rules(session: Session, organization_id: str) -> list[NotificationRule]:
    """The organization's active rules, oldest first."""
    return list(
        session.scalars(
            select(NotificationRule)
            .where(
                NotificationRule.organization_id == organization_id,
                NotificationRule.active.is_(True),
            )
            .order_by(NotificationRule.created_at, NotificationRule.id)
        )
    )


def deactivate_rule(
    session: Session, organization_id: str, rule_id: str, *, now: datetime, actor: str = "api"
) -> None:
    """Stop a rule: nothing more fires (its firings stay in the ledger)."""
    require_organization_scope("delete notification rules")
    rule = get_rule(session, organization_id, rule_id)
    rule.active = False
    session.execute(delete(ScheduledNotification).where(ScheduledNotification.rule_id == rule.id))
    record(
        session,
        organization_id,
        "notification_rule.deleted",
        at=now,
        actor=actor,
        data={"id": rule.id},
    )


# --- the organization's settings ---------------------------------------------------------


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def settings_out(org: Organization, default_lang: str) -> NotificationSettingsOut:
    """The API shape of the organization's notification settings."""
    quiet = None
    if org.quiet_start_minute is not None and org.quiet_end_minute is not None:
        quiet = QuietHours(start=_hhmm(org.quiet_start_minute), end=_hhmm(org.quiet_end_minute))
    return NotificationSettingsOut(
        time_zone=org.time_zone or "UTC",
        quiet_hours=quiet,
        notification_lang=org.notification_lang or default_lang,
    )


def update_settings(
    session: Session,
    org: Organization,
    body: NotificationSettingsIn,
    *,
    now: datetime,
    actor: str = "api",
) -> None:
    """Change the zone, quiet hours or language; a new zone reschedules every rule
    (birthdays and whole-day offsets follow the clinic's clocks)."""
    require_organization_scope("change the organization's settings")
    fields = body.model_fields_set
    if "time_zone" in fields:
        try:
            zone(body.time_zone)
        except ValueError:
            raise InvalidInput(
                f"{body.time_zone!r} is not an IANA time zone (e.g. Europe/Moscow).",
                field="time_zone",
            ) from None
        changed = (body.time_zone or None) != org.time_zone
        org.time_zone = body.time_zone or None
        if changed:
            for rule in list_rules(session, org.id):
                enqueue(session, JobKind.SCHEDULE, {"rule_id": rule.id}, now=now)
    if "quiet_hours" in fields:
        quiet = body.quiet_hours
        if quiet is not None and quiet.start == quiet.end:
            raise InvalidInput("Quiet hours must not start and end at once.", field="quiet_hours")
        org.quiet_start_minute = _minutes(quiet.start) if quiet else None
        org.quiet_end_minute = _minutes(quiet.end) if quiet else None
    if "notification_lang" in fields:
        org.notification_lang = body.notification_lang
    record(
        session,
        org.id,
        "organization.settings_changed",
        at=now,
        actor=actor,
        data={"fields": sorted(fields)},
    )
