"""``/api/v1/notifications``: the delivery log, the dead-letter list and replay; the
channel order; push subscriptions and the VAPID key; Telegram links; and the delivery
reports providers post back (each authenticated by the provider's own signature).

See docs/notifications.md; the SMS providers' callbacks are in docs/sms-gateway.md.
"""

from __future__ import annotations

import hmac
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from medsign.errors import Forbidden, InvalidInput, NotFound, SmsProviderUnavailable
from medsign.notify import delivery, service
from medsign.notify.dispatch import callback_url, sms_sender
from medsign.notify.ports import DeliveryError
from medsign.notify.schemas import (
    ChannelOrder,
    NotificationList,
    NotificationOut,
    PushSubscriptionIn,
    PushSubscriptionOut,
    TelegramLinkIn,
    TelegramLinkOut,
    VapidKeyOut,
)
from medsign.notify.sms_kavenegar import KavenegarSender, callback_ids
from medsign.notify.sms_reports import SmsReport
from medsign.notify.sms_smsru import smsru_reports
from medsign.notify.sms_twilio import twilio_report
from medsign.notify.telegram import start_token
from medsign.notify.webpush import application_server_key, load_or_create_vapid
from medsign.runtime import Runtime
from medsign.web.deps import org_transaction, runtime
from medsign.webhooks.signing import InvalidSignature, verify

router = APIRouter(prefix="/api/v1", tags=["notifications"])
MAX_CALLBACK_BYTES = 64 * 1024

Status = Annotated[
    Literal["queued", "sent", "delivered", "dead"] | None,
    Query(description="Only messages in this state; `dead` is the dead-letter list."),
]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=500)]


@router.get("/notifications", response_model=NotificationList)
def list_notifications(
    request: Request, status: Status = None, limit: Limit = 50, cursor: Cursor = None
) -> NotificationList:
    """The organization's messages, newest first (a branch token sees its branch's)."""
    with org_transaction(request) as (session, org_id):
        rows, next_cursor = service.list_messages(
            session, org_id, status=status, limit=limit, cursor=cursor
        )
        return NotificationList(
            items=[service.message_out(m, None) for m in rows], next_cursor=next_cursor
        )


@router.get("/notifications/{notification_id}", response_model=NotificationOut)
def get_notification(request: Request, notification_id: str) -> NotificationOut:
    """One message with its delivery log (queued, sent, delivered/failed, retries)."""
    with org_transaction(request) as (session, org_id):
        message, log = service.get_message(session, org_id, notification_id)
        return service.message_out(message, log)


@router.post(
    "/notifications/{notification_id}/replay", status_code=202, response_model=NotificationOut
)
def replay_notification(request: Request, notification_id: str) -> NotificationOut:
    """Queue a dead-lettered message again from its first channel (409 unless dead)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        message = service.replay(session, org_id, notification_id, now=rt.clock())
        return service.message_out(message, None)


@router.get("/notification-channels", response_model=ChannelOrder)
def get_channel_order(request: Request) -> ChannelOrder:
    """The order in which channels are tried for this organization's messages."""
    with org_transaction(request) as (session, org_id):
        return ChannelOrder.model_validate({"channels": service.get_channels(session, org_id)})


@router.put("/notification-channels", response_model=ChannelOrder)
def set_channel_order(request: Request, body: ChannelOrder) -> ChannelOrder:
    """Set the fallback order, e.g. ``["push", "email", "sms"]`` (messages queued later)."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        order = service.set_channels(session, org_id, list(body.channels), now=rt.clock())
        return ChannelOrder.model_validate({"channels": order})


@router.post("/push-subscriptions", status_code=201, response_model=PushSubscriptionOut)
def subscribe(request: Request, body: PushSubscriptionIn) -> PushSubscriptionOut:
    """Store a browser's push subscription (``PushSubscription.toJSON()``) for a
    subject: a patient (cabinet) or a clinician's device."""
    rt = runtime(request)
    with org_transaction(request) as (session, org_id):
        sub = service.subscribe_push(session, org_id, body, now=rt.clock())
        return PushSubscriptionOut(
            id=sub.id,
            subject_kind=sub.subject_kind,
            subject_id=sub.subject_id,
            created_at=sub.created_at,
        )


@router.delete("/push-subscriptions/{subscription_id}", status_code=204)
def unsubscribe(request: Request, subscription_id: str) -> Response:
    """Forget a push subscription."""
    with org_transaction(request) as (session, org_id):
        service.unsubscribe_push(session, org_id, subscription_id)
    return Response(status_code=204)


@router.get("/push/vapid-public-key", response_model=VapidKeyOut)
def vapid_public_key(request: Request) -> VapidKeyOut:
    """The ``applicationServerKey`` for ``pushManager.subscribe`` (RFC 8292 §3.2); the
    same for every organization (pages embed it; the API hands it to the MIS)."""
    rt = runtime(request)
    with org_transaction(request):
        pass  # authenticated like the rest of the API
    key = load_or_create_vapid(rt.settings.data_dir / "keys")
    return VapidKeyOut(public_key=application_server_key(key))


@router.post("/telegram-links", status_code=201, response_model=TelegramLinkOut)
def telegram_link(request: Request, body: TelegramLinkIn) -> TelegramLinkOut:
    """A ``https://t.me/<bot>?start=<token>`` link: the person opens it and presses
    Start, and the bot's chat with them is linked to the subject."""
    rt = runtime(request)
    bot = rt.settings.telegram_bot_name
    if rt.settings.telegram_bot_token is None or not bot:
        raise InvalidInput("Telegram is not configured (MEDSIGN_TELEGRAM_BOT_TOKEN and _NAME).")
    with org_transaction(request) as (session, org_id):
        link, token = service.new_telegram_link(
            session, rt.keyring, org_id, body.subject_kind, body.subject_id, now=rt.clock()
        )
        return TelegramLinkOut(
            id=link.id, url=f"https://t.me/{bot}?start={token}", start_token=token
        )


class PushReceipt(BaseModel):
    """What the service worker posts back when it showed a notification."""

    ref: str = Field(min_length=3, max_length=120, pattern=r"^[A-Za-z0-9._-]+$")
    token: str = Field(pattern=r"^[0-9a-f]{64}$")


class GatewayReport(BaseModel):
    """A delivery report of the HTTP gateway (docs/sms-gateway.md "Delivery reports")."""

    id: str = Field(min_length=1, max_length=200)
    status: Literal["delivered", "failed"]
    detail: str = Field(default="", max_length=500)


async def _body(request: Request) -> bytes:
    data = await request.body()
    if len(data) > MAX_CALLBACK_BYTES:
        raise InvalidInput("The report is too large.")
    return data


def _apply(rt: Runtime, channel: str, reports: list[SmsReport]) -> None:
    with rt.transaction() as session:
        for r in reports:
            delivery.report(
                session,
                channel=channel,
                provider_ref=r.provider_ref,
                delivered=r.delivered,
                detail=r.detail,
                now=rt.clock(),
            )


_REFUSED: dict[int | str, dict[str, Any]] = {
    403: {"description": "The signature or token does not match."}
}
_NOT_SET: dict[int | str, dict[str, Any]] = {
    404: {"description": "This provider is not configured."}
}


def _form_body(properties: dict[str, Any]) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": properties,
        "additionalProperties": {"type": "string"},
    }
    return {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }


@router.post("/notifications/receipts/push", status_code=204, responses=_REFUSED)
def push_receipt(request: Request, body: PushReceipt) -> Response:
    """The push channel's delivery report, from the service worker (403 for a wrong token)."""
    rt = runtime(request)
    if not rt.keyring.verify(delivery.PUSH_RECEIPT, body.ref, body.token):
        raise Forbidden("The receipt token does not match.")
    _apply(rt, "push", [SmsReport(body.ref, True, "shown by the service worker")])
    return Response(status_code=204)


@router.post(
    "/notifications/callbacks/sms",
    status_code=204,
    responses={**_REFUSED, **_NOT_SET},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": GatewayReport.model_json_schema()}},
        }
    },
)
async def gateway_callback(request: Request) -> Response:
    """A delivery report of the HTTP gateway, signed as a Standard Webhook with
    ``MEDSIGN_SMS_CALLBACK_SECRET`` (403 when the signature does not match)."""
    rt = runtime(request)
    data = await _body(request)
    secret = rt.settings.sms_callback_secret
    if secret is None:
        raise NotFound("SMS delivery reports are not enabled.")
    try:
        verify(data, dict(request.headers), secret.get_secret_value(), now=time.time())
    except (InvalidSignature, ValueError) as exc:
        raise Forbidden("The report's signature does not match.") from exc
    try:
        report = GatewayReport.model_validate_json(data)
    except ValueError as exc:
        raise InvalidInput("The report is not a gateway delivery report.") from exc
    _apply(
        rt,
        "sms",
        [SmsReport(report.id, report.status == "delivered", report.detail or report.status)],
    )
    return Response(status_code=204)


@router.post(
    "/notifications/callbacks/twilio",
    status_code=204,
    responses={**_REFUSED, **_NOT_SET},
    openapi_extra=_form_body(
        {"MessageSid": {"type": "string"}, "MessageStatus": {"type": "string"}}
    ),
)
async def twilio_callback(request: Request) -> Response:
    """Twilio's status callback, checked with ``X-Twilio-Signature``."""
    rt = runtime(request)
    token = rt.settings.sms_token
    if token is None or not (rt.settings.sms_url or "").startswith("twilio"):
        raise NotFound("Twilio is not the SMS provider.")
    await _body(request)
    form = [(k, str(v)) for k, v in (await request.form()).multi_items()]
    try:
        report = twilio_report(
            token.get_secret_value(),
            callback_url(rt.settings, "twilio"),
            form,
            request.headers.get("x-twilio-signature"),
        )
    except ValueError as exc:
        raise Forbidden("The X-Twilio-Signature does not match.") from exc
    if report is not None:
        _apply(rt, "sms", [report])
    return Response(status_code=204)


@router.post(
    "/notifications/callbacks/smsru",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string", "enum": ["100"]}}}},
        **_REFUSED,
        **_NOT_SET,
    },
    openapi_extra=_form_body({"hash": {"type": "string"}, "data[0]": {"type": "string"}}),
)
async def smsru_callback(request: Request) -> Response:
    """SMS.ru's delivery callback, checked with its ``hash``; answers ``100``."""
    rt = runtime(request)
    token = rt.settings.sms_token
    if token is None or not (rt.settings.sms_url or "").startswith("smsru"):
        raise NotFound("SMS.ru is not the SMS provider.")
    await _body(request)
    form = await request.form()
    data = [
        str(v)
        for k, v in sorted(
            ((k, v) for k, v in form.multi_items() if k.startswith("data[")),
            key=lambda kv: _index(kv[0]),
        )
    ]
    given = form.get("hash")
    try:
        reports = smsru_reports(token.get_secret_value(), data, str(given) if given else None)
    except ValueError as exc:
        raise Forbidden("The callback hash does not match.") from exc
    _apply(rt, "sms", reports)
    return Response("100", media_type="text/plain")


@router.post(
    "/notifications/callbacks/kavenegar",
    status_code=204,
    responses={
        **_NOT_SET,
        422: {"description": "No message id in the callback."},
        503: {"description": "Kavenegar could not be asked now; post again later."},
    },
    openapi_extra=_form_body({"messageid": {"type": "string"}, "status": {"type": "string"}}),
)
async def kavenegar_callback(request: Request) -> Response:
    """Kavenegar's delivery callback. It is not signed, so only its ``messageid`` is
    taken: the status applied is what Kavenegar's authenticated status lookup answers
    (medsign.notify.sms_kavenegar), and only for messages medsign sent and awaits."""
    rt = runtime(request)
    if not (rt.settings.sms_url or "").startswith("kavenegar"):
        raise NotFound("Kavenegar is not the SMS provider.")
    sender = sms_sender(rt.settings)
    assert isinstance(sender, KavenegarSender)
    await _body(request)
    form = await request.form()
    given = [
        str(v)
        for k, v in [*form.multi_items(), *request.query_params.multi_items()]
        if k == "messageid"
    ]
    try:
        ids = callback_ids(given)
    except ValueError as exc:
        raise InvalidInput(f"The callback is not a Kavenegar delivery report: {exc}.") from exc
    with rt.transaction(write=False) as session:
        awaited = delivery.awaiting_reports(session, "sms", ids)
    if awaited:
        try:
            reports = await run_in_threadpool(sender.statuses, awaited)
        except DeliveryError as exc:
            raise SmsProviderUnavailable(
                f"Kavenegar's status lookup failed: {exc.detail}."
            ) from exc
        _apply(rt, "sms", reports)
    return Response(status_code=204)


def _index(key: str) -> int:
    inner = key[len("data[") :].rstrip("]")
    return int(inner) if inner.isdigit() else 0


@router.post("/notifications/callbacks/telegram", responses={**_REFUSED, **_NOT_SET})
def telegram_update(
    request: Request, update: Annotated[dict[str, object], Body()]
) -> dict[str, bool]:
    """A Telegram update (bot webhook): ``/start <token>`` links the chat."""
    rt = runtime(request)
    if rt.settings.telegram_bot_token is None:
        raise NotFound("Telegram is not configured.")
    given = request.headers.get("x-telegram-bot-api-secret-token", "")
    if not hmac.compare_digest(
        given.encode(), service.telegram_webhook_secret(rt.keyring).encode()
    ):
        raise Forbidden("The secret token does not match.")
    found = start_token(update)
    linked = False
    if found is not None:
        token, chat_id = found
        with rt.transaction() as session:
            linked = service.link_telegram_chat(session, rt.keyring, token, chat_id, now=rt.clock())
    return {"linked": linked}
