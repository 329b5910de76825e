"""Settings: webhooks (add with the secret shown once, list, delete), each one's delivery
log (status, attempts, last error) and replaying a failed delivery, through
:mod:`medsign.webhooks.service` as ``/api/v1/webhooks`` does. A branch's admin sees and
adds only their branch's webhooks (the service's branch scope)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from medsign.events.service import ENVELOPE_EVENTS
from medsign.staff.schemas import Actor
from medsign.web.deps import runtime
from medsign.web.pages.console.session import answer
from medsign.web.pages.console.settings_forms import (
    BASE,
    branch_choices,
    parsed,
    settings_form,
    settings_page,
    settings_read,
)
from medsign.webhooks import service
from medsign.webhooks.schemas import ALL_EVENTS, WebhookIn

router = APIRouter(prefix=f"{BASE}/webhooks", include_in_schema=False)
HERE = f"{BASE}/webhooks"
PAGE_SIZE = 50


def _page(
    request: Request,
    *,
    status_code: int = 200,
    error: str = "",
    created: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
) -> Response:
    def run() -> Response:
        with settings_read(request) as (session, actor):
            branches = branch_choices(session, actor)
            hooks = [
                {
                    "id": s.id,
                    "url": s.url,
                    "events": list(s.events),
                    "description": s.description or "",
                    "status": s.status,
                    "disabled_reason": s.disabled_reason or "",
                    "branch_id": s.branch_id,
                }
                for s in service.list_subscriptions(session, actor.organization_id)
            ]
        return settings_page(
            request,
            "console/settings_webhooks.html",
            actor,
            status_code=status_code,
            hooks=hooks,
            branches=branches,
            branch_names=dict(branches),
            event_types=[ALL_EVENTS, *ENVELOPE_EVENTS],
            error=error,
            created=created,
            typed=typed or {"events": [ALL_EVENTS]},
        )

    return answer(request, run)


@router.get("")
def webhooks(request: Request) -> Response:
    """The webhooks and the form to add one."""
    return _page(request)


@router.post("")
def add(
    request: Request,
    url: Annotated[str, Form(max_length=2000)] = "",
    events: Annotated[list[str] | None, Form()] = None,
    description: Annotated[str, Form(max_length=200)] = "",
    branch: Annotated[str, Form(max_length=64)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Subscribe a URL; the signing secret is on the answer page only."""
    events = events or []
    rt = runtime(request)
    typed = {"url": url, "events": events, "description": description, "branch": branch}

    def work(session: Session, actor: Actor) -> dict[str, str]:
        body = parsed(
            WebhookIn,
            {
                "url": url,
                "events": events,
                "description": description or None,
                "branch_id": branch or None,
            },
        )
        created = service.create_subscription(
            session,
            rt.keyring,
            actor.organization_id,
            body,
            now=rt.clock(),
            allow_private=rt.settings.webhook_allow_private,
            actor=actor.audit_name,
        )
        return {"id": created.subscription.id, "url": body.url, "secret": created.secret}

    return settings_form(
        request,
        csrf,
        work,
        lambda created: _page(request, created=created),
        lambda status, message: _page(request, status_code=status, error=message, typed=typed),
    )


@router.post("/{webhook_id}/delete")
def delete(
    request: Request, webhook_id: str, csrf: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    """Delete a webhook; its pending deliveries are dropped."""
    rt = runtime(request)

    def work(session: Session, actor: Actor) -> None:
        service.delete_subscription(
            session, actor.organization_id, webhook_id, now=rt.clock(), actor=actor.audit_name
        )

    return settings_form(
        request,
        csrf,
        work,
        lambda _none: RedirectResponse(HERE, status_code=303),
        lambda status, message: _page(request, status_code=status, error=message),
    )


def _log_page(
    request: Request,
    webhook_id: str,
    cursor: str | None,
    *,
    status_code: int = 200,
    error: str = "",
    replayed: str = "",
) -> Response:
    def run() -> Response:
        with settings_read(request) as (session, actor):
            hook = service.get_subscription(session, actor.organization_id, webhook_id)
            url, state = hook.url, hook.status
            rows, next_cursor = service.list_deliveries(
                session,
                actor.organization_id,
                webhook_id,
                limit=PAGE_SIZE,
                cursor=cursor,
                status=None,
            )
            deliveries = [service.delivery_view(d) for d in rows]
        return settings_page(
            request,
            "console/settings_webhook_log.html",
            actor,
            status_code=status_code,
            webhook_id=webhook_id,
            url=url,
            state=state,
            deliveries=deliveries,
            next_cursor=next_cursor,
            error=error,
            replayed=replayed,
        )

    return answer(request, run)


@router.get("/{webhook_id}")
def delivery_log(
    request: Request,
    webhook_id: str,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """A webhook's deliveries, newest first, 50 a page: status, attempts, last error."""
    return _log_page(request, webhook_id, cursor)


@router.post("/{webhook_id}/deliveries/{delivery_id}/replay")
def replay(
    request: Request,
    webhook_id: str,
    delivery_id: str,
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Send a delivery's event again, as a new delivery with the same ``webhook-id``."""
    rt = runtime(request)

    def work(session: Session, actor: Actor) -> str:
        replay = service.replay_delivery(
            session,
            actor.organization_id,
            webhook_id,
            delivery_id,
            now=rt.clock(),
            actor=actor.audit_name,
        )
        return replay.delivery_id

    return settings_form(
        request,
        csrf,
        work,
        lambda new_id: _log_page(request, webhook_id, None, replayed=new_id),
        lambda status, message: _log_page(
            request, webhook_id, None, status_code=status, error=message
        ),
    )
