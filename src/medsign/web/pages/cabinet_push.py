"""The cabinet's "Notifications on this device": the page's script hands the browser's
push subscription (W3C Push API ``PushSubscription.toJSON()``) to these endpoints.

They need the cabinet session's cookie and its CSRF token in ``X-CSRF-Token`` (the
synchronizer token of the session's forms, OWASP CSRF cheat sheet): a JSON request
from another site gets neither. The subscription belongs to the cabinet account and the
session that made it; logging out removes it (docs/notifications.md "Web Push").
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from medsign.cabinet.service import Visit, csrf_token
from medsign.errors import Forbidden, Unauthorized
from medsign.notify import subscriptions
from medsign.notify.schemas import PushKeys
from medsign.notify.subscriptions import CABINET, Holder
from medsign.runtime import Runtime
from medsign.web.deps import runtime
from medsign.web.pages.cabinet_session import visit_of
from medsign.web.pages.cookies import same_secret

router = APIRouter(prefix="/cabinet", include_in_schema=False)
CSRF_HEADER = "x-csrf-token"


class CabinetSubscriptionIn(BaseModel):
    """``PushSubscription.toJSON()`` (``expirationTime`` and the like are ignored)."""

    model_config = ConfigDict(extra="ignore")

    endpoint: str = Field(min_length=12, max_length=1000)
    keys: PushKeys


class EndpointIn(BaseModel):
    """Which subscription to forget: the browser's endpoint."""

    endpoint: str = Field(min_length=12, max_length=1000)


def _holder(request: Request, rt: Runtime) -> Holder:
    """This session's holder, or 401 (no live session) / 403 (wrong CSRF token)."""
    visit: Visit | None = visit_of(request, rt)
    if visit is None:
        raise Unauthorized("Your cabinet session has ended. Log in again.")
    if not same_secret(request.headers.get(CSRF_HEADER, ""), csrf_token(rt.keyring, visit)):
        raise Forbidden("The page is out of date. Reload it and try again.")
    return Holder(CABINET, visit.account.id, session_id=visit.session.id)


@router.post("/push-subscriptions", status_code=201)
def subscribe(request: Request, body: CabinetSubscriptionIn) -> dict[str, str]:
    """Notifications on for this device: store its subscription for the account."""
    rt = runtime(request)
    holder = _holder(request, rt)
    with rt.transaction() as session:
        sub = subscriptions.save(
            session, holder, body.endpoint, body.keys, now=rt.clock(), shared=False
        )
        return {"id": sub.id}


@router.delete("/push-subscriptions", status_code=204)
def unsubscribe(request: Request, body: EndpointIn) -> Response:
    """Notifications off for this device (404 when the account has no such one)."""
    rt = runtime(request)
    holder = _holder(request, rt)
    with rt.transaction() as session:
        subscriptions.remove(session, holder, body.endpoint)
    return Response(status_code=204)
