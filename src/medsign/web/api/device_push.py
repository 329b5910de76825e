"""``/device/v1/push``: a clinician's device subscribes to Web Push (RFC 8030, VAPID
RFC 8292) so new signing requests reach it while the app is closed; the event stream
(``/device/v1/events``) keeps announcing them to the open app.

The device's own bearer token authenticates; the clinician app's workplaces share one
service worker, so one browser endpoint may be subscribed by several devices
(docs/clinician-devices.md "Notifications").
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from medsign.clinicians.service import authenticate_device
from medsign.notify import subscriptions
from medsign.notify.schemas import PushKeys, VapidKeyOut
from medsign.notify.subscriptions import DEVICE, Holder
from medsign.notify.webpush import public_key_of
from medsign.web.deps import bearer, runtime

router = APIRouter(prefix="/device/v1", tags=["clinician devices"])

_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid device token."},
    403: {"description": "The device was revoked or its certificate expired."},
}


class DeviceSubscriptionIn(BaseModel):
    """``PushSubscription.toJSON()`` of the app's service worker registration."""

    model_config = ConfigDict(extra="ignore")

    endpoint: str = Field(min_length=12, max_length=1000)
    keys: PushKeys


class DeviceSubscriptionOut(BaseModel):
    """The stored subscription."""

    id: str


class EndpointIn(BaseModel):
    """Which subscription to forget: the browser's endpoint."""

    endpoint: str = Field(min_length=12, max_length=1000)


@router.get("/push/vapid-public-key", response_model=VapidKeyOut, responses=_AUTH)
def vapid_public_key(request: Request) -> VapidKeyOut:
    """The ``applicationServerKey`` for ``pushManager.subscribe`` (RFC 8292 §3.2)."""
    rt = runtime(request)
    with rt.transaction(write=False) as session:
        authenticate_device(session, rt.keyring, bearer(request), now=rt.clock())
    return VapidKeyOut(public_key=public_key_of(rt.settings.data_dir / "keys"))


@router.post(
    "/push-subscriptions",
    status_code=201,
    response_model=DeviceSubscriptionOut,
    responses={**_AUTH, 409: {"description": "The endpoint is registered with other keys."}},
)
def subscribe(request: Request, body: DeviceSubscriptionIn) -> DeviceSubscriptionOut:
    """Push this device's new signing requests to the subscription (again: renewed)."""
    rt = runtime(request)
    with rt.transaction() as session:
        device = authenticate_device(session, rt.keyring, bearer(request), now=rt.clock())
        holder = Holder(DEVICE, device.id, device.organization_id)
        sub = subscriptions.save(
            session, holder, body.endpoint, body.keys, now=rt.clock(), shared=True
        )
        return DeviceSubscriptionOut(id=sub.id)


@router.delete(
    "/push-subscriptions",
    status_code=204,
    responses={**_AUTH, 404: {"description": "This device has no such subscription."}},
)
def unsubscribe(request: Request, body: EndpointIn) -> Response:
    """Stop pushing to the subscription of ``endpoint``."""
    rt = runtime(request)
    with rt.transaction() as session:
        device = authenticate_device(session, rt.keyring, bearer(request), now=rt.clock())
        subscriptions.remove(session, Holder(DEVICE, device.id), body.endpoint)
    return Response(status_code=204)
