"""``/api/v1/notification-rules``, ``/api/v1/notification-templates`` and
``/api/v1/organization/settings`` (time zone, quiet hours, notification language)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from medsign.organizations.service import get_organization
from medsign.reminders.models import NotificationRule, NotificationTemplate
from medsign.reminders.schemas import (
    NotificationSettingsIn,
    NotificationSettingsOut,
    PreviewOut,
    RuleIn,
    RuleList,
    RuleOut,
    TemplateIn,
    TemplateList,
    TemplateOut,
    TemplatePreviewIn,
)
from medsign.reminders.service import (
    create_rule,
    deactivate_rule,
    delete_template,
    get_rule,
    get_template,
    list_rules,
    list_templates,
    preview_template,
    save_template,
    settings_out,
    update_settings,
)
from medsign.web.deps import org_transaction, runtime

router = APIRouter(tags=["notifications"])


def _rule_out(rule: NotificationRule) -> RuleOut:
    return RuleOut(
        id=rule.id,
        event=rule.event,
        offset_minutes=rule.offset_minutes,
        channels=list(rule.channels),
        template=dict(rule.template) if rule.template else None,
        services=rule.services,
        statuses=rule.statuses,
        set_status=rule.set_status,
        active=rule.active,
        created_at=rule.created_at,
    )


def _template_out(row: NotificationTemplate) -> TemplateOut:
    return TemplateOut(
        id=row.id,
        event=row.event,
        lang=row.lang,
        subject=row.subject,
        text=row.text,
        html=row.html,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@router.post("/api/v1/notification-rules", status_code=201, response_model=RuleOut)
def create(request: Request, body: RuleIn) -> RuleOut:
    """Create a rule; its targets are scheduled right after (422 for a template with an
    unknown parameter or options that do not fit the event)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        return _rule_out(create_rule(session, org_id, body, now=rt.clock()))


@router.get("/api/v1/notification-rules", response_model=RuleList)
def rules(request: Request) -> RuleList:
    """The organization's active rules."""
    with org_transaction(request) as (session, org_id):
        return RuleList(items=[_rule_out(r) for r in list_rules(session, org_id)])


@router.get("/api/v1/notification-rules/{rule_id}", response_model=RuleOut)
def rule(request: Request, rule_id: str) -> RuleOut:
    """One rule."""
    with org_transaction(request) as (session, org_id):
        return _rule_out(get_rule(session, org_id, rule_id))


@router.delete("/api/v1/notification-rules/{rule_id}", status_code=204)
def delete_rule(request: Request, rule_id: str) -> Response:
    """Stop a rule (what it fired stays recorded)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        deactivate_rule(session, org_id, rule_id, now=rt.clock())
    return Response(status_code=204)


@router.post("/api/v1/notification-templates/preview", response_model=PreviewOut)
def preview(request: Request, body: TemplatePreviewIn) -> PreviewOut:
    """Render a template with sample (or given) values, without saving it."""
    with org_transaction(request):
        return preview_template(body)


@router.post("/api/v1/notification-templates", status_code=201, response_model=TemplateOut)
def create_template(request: Request, body: TemplateIn) -> TemplateOut:
    """Save the organization's template of an event in a language (409 if one exists)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        return _template_out(save_template(session, org_id, body, now=rt.clock()))


@router.get("/api/v1/notification-templates", response_model=TemplateList)
def templates(request: Request) -> TemplateList:
    """The organization's templates (events without one use the built-in wording)."""
    with org_transaction(request) as (session, org_id):
        return TemplateList(items=[_template_out(t) for t in list_templates(session, org_id)])


@router.get("/api/v1/notification-templates/{template_id}", response_model=TemplateOut)
def template(request: Request, template_id: str) -> TemplateOut:
    """One template."""
    with org_transaction(request) as (session, org_id):
        return _template_out(get_template(session, org_id, template_id))


@router.put("/api/v1/notification-templates/{template_id}", response_model=TemplateOut)
def replace_template(request: Request, template_id: str, body: TemplateIn) -> TemplateOut:
    """Replace a template (checked like a new one)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        row = save_template(session, org_id, body, now=rt.clock(), template_id=template_id)
        return _template_out(row)


@router.delete("/api/v1/notification-templates/{template_id}", status_code=204)
def remove_template(request: Request, template_id: str) -> Response:
    """Delete a template: the built-in wording applies again."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        delete_template(session, org_id, template_id, now=rt.clock())
    return Response(status_code=204)


@router.get("/api/v1/organization/settings", response_model=NotificationSettingsOut)
def read_settings(request: Request) -> NotificationSettingsOut:
    """The organization's time zone, quiet hours and notification language."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        return settings_out(get_organization(session, org_id), rt.settings.default_lang)


@router.patch("/api/v1/organization/settings", response_model=NotificationSettingsOut)
def change_settings(request: Request, body: NotificationSettingsIn) -> NotificationSettingsOut:
    """Change the time zone (IANA name), quiet hours (``null``: none) or language."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        org = get_organization(session, org_id)
        update_settings(session, org, body, now=rt.clock())
        return settings_out(org, rt.settings.default_lang)
