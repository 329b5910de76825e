"""One attempt of one webhook delivery: the handler of ``JobKind.WEBHOOK``.

Semantics (Standard Webhooks spec, "Delivery behaviour"; issue [integration]):

- at least once: the attempt is recorded only after the receiver answered, so a worker
  killed mid-delivery leaves the job to be taken again after its lease, and the receiver
  sees the same ``webhook-id`` again (it deduplicates on it);
- any 2xx is success; 410 Gone disables the subscription; every other answer (3xx —
  redirects are not followed —, 4xx, 5xx), a timeout or a connection error is retried
  with exponential backoff from ``MEDSIGN_WEBHOOK_BACKOFF`` (doubling, jittered) until
  ``webhook_retry_hours`` (3 days) after the delivery was queued, then dead-lettered;
- per envelope order: a delivery waits while an earlier delivery of the same
  subscription and envelope is pending; finishing one (success or dead) queues the next.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from medsign.events.models import Event
from medsign.jobs.outbox import JobCall
from medsign.net import ssrf
from medsign.runtime import Runtime
from medsign.webhooks.models import WebhookDelivery, WebhookSubscription
from medsign.webhooks.service import (
    ACTIVE,
    DEAD,
    PENDING,
    SUCCEEDED,
    disable_subscription,
    schedule,
    signing_secrets,
)
from medsign.webhooks.signing import headers_for

log = logging.getLogger("medsign.webhooks")
MAX_DELAY = timedelta(hours=12)
USER_AGENT = "medsign-webhooks/1"


def retry_delay(base: float, attempts: int) -> timedelta:
    """``base * 2**(attempts-1)`` seconds, capped at 12 h, with ±20 % jitter."""
    seconds = min(base * 2.0 ** max(attempts - 1, 0), MAX_DELAY.total_seconds())
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))  # noqa: S311 - jitter


def payload(event: Event, public_url: str) -> bytes:
    """The body of every delivery of ``event``: ``{"type", "timestamp", "data"}``.

    ``data`` carries ids and API links, never documents or personal data.
    """
    data: dict[str, Any] = dict(event.data)
    if event.envelope_id:
        base = f"{public_url.rstrip('/')}/api/v1/envelopes/{event.envelope_id}"
        data["envelope_id"] = event.envelope_id
        data["links"] = {"envelope": base, "pdf": f"{base}/pdf"}
    body = {
        "type": event.type,
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Attempt:
    """What one HTTP attempt gave: a status code and/or an error."""

    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        """True on 2xx."""
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class _Prepared:
    url: str
    body: bytes
    secrets: list[str]
    msg_id: str


def post(
    url: str, headers: dict[str, str], body: bytes, *, timeout: float, allow_private: bool
) -> Attempt:
    """POST ``body`` to ``url`` connecting only to addresses the SSRF guard accepted."""
    try:
        target = ssrf.check(url, allow_private=allow_private)
    except ssrf.UnsafeUrl as exc:
        return Attempt(None, str(exc))
    address = target.addresses[0]
    pinned = httpx.URL(url).copy_with(host=address)
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    if ":" in target.host:
        host_header = f"[{target.host}]" + (
            "" if target.port == default_port else f":{target.port}"
        )
    all_headers = {
        **headers,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "host": host_header,
    }
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            request = client.build_request(
                "POST", pinned, headers=all_headers, content=body, extensions=extensions
            )
            response = client.send(request, stream=True)
            response.close()  # the body is not needed (and may be large)
    except httpx.TimeoutException:
        return Attempt(None, f"no answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        return Attempt(None, f"connection failed: {type(exc).__name__}")
    status = response.status_code
    if 300 <= status < 400:
        return Attempt(status, f"redirect ({status}) not followed")
    if 200 <= status < 300:
        return Attempt(status, None)
    return Attempt(status, f"the endpoint answered {status}")


def _blocked(session: Any, delivery: WebhookDelivery) -> bool:
    earlier = session.scalars(
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.subscription_id == delivery.subscription_id,
            WebhookDelivery.ordering_key == delivery.ordering_key,
            WebhookDelivery.status == PENDING,
            WebhookDelivery.id < delivery.id,
        )
        .limit(1)
    ).first()
    return earlier is not None


def _queue_next(session: Any, delivery: WebhookDelivery, now: datetime) -> None:
    """Queue the next pending delivery of the same chain (it may have been waiting)."""
    nxt = session.scalars(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == delivery.subscription_id,
            WebhookDelivery.ordering_key == delivery.ordering_key,
            WebhookDelivery.status == PENDING,
            WebhookDelivery.id > delivery.id,
        )
        .order_by(WebhookDelivery.id)
        .limit(1)
    ).first()
    if nxt is not None:
        due = nxt.next_attempt_at
        schedule(session, nxt, at=due if due is not None and due > now else now)


def _prepare(rt: Runtime, pk: int, attempt: int) -> _Prepared | None:
    now = rt.clock()
    with rt.transaction() as session:
        delivery = session.get(WebhookDelivery, pk)
        if delivery is None or delivery.status != PENDING or delivery.attempts != attempt:
            return None  # done already, or a stale job for an attempt already made
        sub = session.get(WebhookSubscription, delivery.subscription_id)
        assert sub is not None
        if sub.status != ACTIVE:
            delivery.status = DEAD
            delivery.last_error = f"the webhook is {sub.status}"
            delivery.finished_at = now
            delivery.next_attempt_at = None
            _queue_next(session, delivery, now)
            return None
        if _blocked(session, delivery):
            return None  # an earlier delivery of this envelope queues this one when done
        event = session.get(Event, delivery.event_pk)
        assert event is not None
        return _Prepared(
            url=sub.url,
            body=payload(event, rt.settings.public_url),
            secrets=signing_secrets(rt.keyring, sub, now),
            msg_id=delivery.event_id,
        )


def _record(rt: Runtime, pk: int, attempt: int, result: Attempt) -> None:
    now = rt.clock()
    s = rt.settings
    with rt.transaction() as session:
        delivery = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.id == pk).with_for_update()
        ).first()
        if delivery is None or delivery.status != PENDING or delivery.attempts != attempt:
            return
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.response_status = result.status
        delivery.last_error = result.error
        if result.ok:
            delivery.status = SUCCEEDED
            delivery.finished_at = now
            delivery.next_attempt_at = None
            _queue_next(session, delivery, now)
            return
        if result.status == 410:
            sub = session.get(WebhookSubscription, delivery.subscription_id)
            assert sub is not None
            delivery.status = DEAD
            delivery.finished_at = now
            delivery.next_attempt_at = None
            disable_subscription(
                session, sub, "The endpoint answered 410 Gone; no more deliveries.", now=now
            )
            return
        deadline = delivery.created_at + timedelta(hours=s.webhook_retry_hours)
        if now >= deadline:
            delivery.status = DEAD
            delivery.finished_at = now
            delivery.next_attempt_at = None
            delivery.last_error = f"{result.error}; gave up after {delivery.attempts} attempts"
            _queue_next(session, delivery, now)
            return
        due = min(now + retry_delay(s.webhook_backoff, delivery.attempts), deadline)
        delivery.next_attempt_at = due
        schedule(session, delivery, at=due)


def deliver(rt: Runtime, call: JobCall) -> None:
    """Make the attempt the job stands for and record its outcome."""
    pk = int(call.payload["delivery"])
    attempt = int(call.payload["attempt"])
    prepared = _prepare(rt, pk, attempt)
    if prepared is None:
        return
    timestamp = int(rt.clock().timestamp())
    headers = headers_for(prepared.secrets, prepared.msg_id, timestamp, prepared.body)
    result = post(
        prepared.url,
        headers,
        prepared.body,
        timeout=rt.settings.webhook_timeout_seconds,
        allow_private=rt.settings.webhook_allow_private,
    )
    if not result.ok:
        log.info("webhook delivery %s attempt failed: %s", pk, result.error)
    _record(rt, pk, attempt, result)
