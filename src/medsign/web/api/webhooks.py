"""``/api/v1/webhooks``: subscriptions, the delivery log, replay and secret rotation.

Deliveries follow Standard Webhooks (headers ``webhook-id``, ``webhook-timestamp``,
``webhook-signature``); see docs/integration.md for verifying them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Request, Response

from medsign.web.deps import org_transaction, runtime
from medsign.webhooks import service
from medsign.webhooks.models import WebhookSubscription
from medsign.webhooks.schemas import (
    DeliveryList,
    DeliveryOut,
    ReplayIn,
    ReplayOut,
    RotateIn,
    SecretOut,
    WebhookCreated,
    WebhookIn,
    WebhookList,
    WebhookOut,
)

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


def _out(sub: WebhookSubscription) -> WebhookOut:
    return WebhookOut(
        id=sub.id,
        url=sub.url,
        events=list(sub.events),
        description=sub.description,
        status=sub.status,
        disabled_reason=sub.disabled_reason,
        disabled_at=sub.disabled_at,
        previous_secret_until=sub.previous_secret_until,
        branch_id=sub.branch_id,
        created_at=sub.created_at,
    )


@router.post("", status_code=201, response_model=WebhookCreated)
def create(request: Request, body: WebhookIn) -> WebhookCreated:
    """Subscribe a URL to event types (`*` for all); the answer holds the signing secret,
    shown only now. URLs on loopback/private/link-local addresses are refused (422)
    unless the operator set ``MEDSIGN_WEBHOOK_ALLOW_PRIVATE=true``."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        created = service.create_subscription(
            session,
            rt.keyring,
            org_id,
            body,
            now=rt.clock(),
            allow_private=rt.settings.webhook_allow_private,
        )
        return WebhookCreated(**_out(created.subscription).model_dump(), secret=created.secret)


@router.get("", response_model=WebhookList)
def list_all(request: Request) -> WebhookList:
    """Every webhook of the organization (secrets are never shown again)."""
    with org_transaction(request) as (session, org_id):
        return WebhookList(items=[_out(s) for s in service.list_subscriptions(session, org_id)])


@router.get("/{webhook_id}", response_model=WebhookOut)
def read(request: Request, webhook_id: str) -> WebhookOut:
    """One webhook; ``status`` is ``disabled`` after its endpoint answered 410 Gone."""
    with org_transaction(request) as (session, org_id):
        return _out(service.get_subscription(session, org_id, webhook_id))


@router.delete("/{webhook_id}", status_code=204, response_class=Response)
def delete(request: Request, webhook_id: str) -> Response:
    """Delete a webhook; its pending deliveries are dropped."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        service.delete_subscription(session, org_id, webhook_id, now=rt.clock())
    return Response(status_code=204)


@router.post("/{webhook_id}/enable", response_model=WebhookOut)
def enable(request: Request, webhook_id: str) -> WebhookOut:
    """Deliver again to a webhook that was disabled (new events; replay what was missed)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        return _out(service.enable_subscription(session, org_id, webhook_id, now=rt.clock()))


@router.post("/{webhook_id}/rotate-secret", response_model=SecretOut)
def rotate_secret(
    request: Request, webhook_id: str, body: Annotated[RotateIn | None, Body()] = None
) -> SecretOut:
    """A new signing secret. During the overlap window (default 24 h) every delivery
    carries two ``v1,`` signatures, one per secret, so receivers switch without loss."""
    rt = runtime(request)
    overlap = timedelta(seconds=(body or RotateIn()).overlap_seconds)
    with org_transaction(request) as (session, org_id):
        sub, secret = service.rotate_secret(
            session, rt.keyring, org_id, webhook_id, overlap=overlap, now=rt.clock()
        )
        return SecretOut(id=sub.id, secret=secret, previous_secret_until=sub.previous_secret_until)


@router.get("/{webhook_id}/deliveries", response_model=DeliveryList)
def deliveries(
    request: Request,
    webhook_id: str,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[Literal["pending", "succeeded", "dead"] | None, Query()] = None,
) -> DeliveryList:
    """The delivery log, newest first: status, attempts, last response, times, event."""
    with org_transaction(request) as (session, org_id):
        rows, next_cursor = service.list_deliveries(
            session, org_id, webhook_id, limit=limit, cursor=cursor, status=status
        )
        return DeliveryList(
            items=[DeliveryOut(**service.delivery_view(d)) for d in rows],
            next_cursor=next_cursor,
        )


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/replay", status_code=202, response_model=DeliveryOut
)
def replay_one(request: Request, webhook_id: str, delivery_id: str) -> DeliveryOut:
    """Send one delivery's event again (same ``webhook-id``: receivers that already
    processed it may skip it)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        d = service.replay_delivery(session, org_id, webhook_id, delivery_id, now=rt.clock())
        out = DeliveryOut(**service.delivery_view(d))
    return out


@router.post("/{webhook_id}/replay", status_code=202, response_model=ReplayOut)
def replay_since(request: Request, webhook_id: str, body: ReplayIn) -> ReplayOut:
    """Send again every event since ``since`` that this webhook subscribes to, in order."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        rows = service.replay_since(session, org_id, webhook_id, body.since, now=rt.clock())
        out = ReplayOut(replayed=len(rows), delivery_ids=[d.delivery_id for d in rows])
    return out
