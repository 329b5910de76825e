"""Webhook subscriptions, fan-out of events into deliveries, the log and replay.

Fan-out is a job that :func:`medsign.events.service.emit` enqueues in the transaction of
the state change (:mod:`medsign.webhooks.fanout`): it creates one
:class:`WebhookDelivery` row and one outbox job per matching subscription, so an event
is never lost and never delivered for a rolled-back change.

Subscriptions are per organization or per branch (issue [integration] item 2): an
organization subscription receives every event; a branch subscription (created with a
branch token, or with ``branch_id`` by an organization token) receives only the events
of its branch's envelopes, plus the events that concern no envelope (EDO agreements:
patients are organization-wide). A branch token sees and manages only its branch's
subscriptions; any other is 404.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.branches.scope import current_branch
from medsign.branches.service import resolve_branch
from medsign.domain.tokens import Keyring
from medsign.envelopes.models import Envelope
from medsign.errors import Conflict, InvalidInput, NotFound
from medsign.events.models import Event
from medsign.jobs.models import Job
from medsign.jobs.outbox import JobKind, enqueue
from medsign.net import ssrf
from medsign.pagination import decode_cursor, encode_cursor
from medsign.webhooks.models import WebhookDelivery, WebhookSubscription
from medsign.webhooks.schemas import ALL_EVENTS, WebhookIn
from medsign.webhooks.signing import SECRET_PREFIX

ACTIVE = "active"
DISABLED = "disabled"
DELETED = "deleted"
PENDING = "pending"
SUCCEEDED = "succeeded"
DEAD = "dead"
MAX_SUBSCRIPTIONS = 20
MAX_REPLAY = 10_000
SECRET_PURPOSE = "webhook-secret"  # noqa: S105 - a derivation label, not a secret


def derive_secret(keyring: Keyring, subscription_id: str, version: int) -> str:
    """The ``whsec_`` secret of a subscription version: 32 bytes derived from the key.

    Nothing secret is stored (DESIGN.md "Security floor"); the worker re-derives it.
    """
    raw = bytes.fromhex(keyring.hash(SECRET_PURPOSE, f"{subscription_id}:{version}"))
    return SECRET_PREFIX + base64.b64encode(raw).decode()


def signing_secrets(keyring: Keyring, sub: WebhookSubscription, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, plus the previous during the overlap."""
    out = [derive_secret(keyring, sub.id, sub.secret_version)]
    if (
        sub.previous_secret_version is not None
        and sub.previous_secret_until is not None
        and now < sub.previous_secret_until
    ):
        out.append(derive_secret(keyring, sub.id, sub.previous_secret_version))
    return out


@dataclass(frozen=True)
class Created:
    """A new subscription and its secret (shown once)."""

    subscription: WebhookSubscription
    secret: str


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse URLs the SSRF guard forbids (422 problem ``invalid-input``)."""
    try:
        ssrf.check(url, allow_private=allow_private, require_resolution=False)
    except ssrf.UnsafeUrl as exc:
        raise InvalidInput(str(exc), field="url") from exc


def create_subscription(
    session: Session,
    keyring: Keyring,
    organization_id: str,
    body: WebhookIn,
    *,
    now: datetime,
    allow_private: bool,
    actor: str = "api",
) -> Created:
    """Subscribe ``body.url`` to ``body.events`` for the organization."""
    check_url(body.url, allow_private=allow_private)
    branch_id = resolve_branch(session, organization_id, body.branch_id)
    count = len(
        session.scalars(
            select(WebhookSubscription.id).where(
                WebhookSubscription.organization_id == organization_id,
                WebhookSubscription.status != DELETED,
            )
        ).all()
    )
    if count >= MAX_SUBSCRIPTIONS:
        raise Conflict(f"An organization may have at most {MAX_SUBSCRIPTIONS} webhooks.")
    sub = WebhookSubscription(
        id=f"wh_{uuid.uuid4().hex}",
        organization_id=organization_id,
        branch_id=branch_id,
        url=body.url,
        events=body.events,
        description=body.description,
        status=ACTIVE,
        secret_version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(sub)
    session.flush()
    record(
        session,
        organization_id,
        "webhook.created",
        at=now,
        actor=actor,
        data={"webhook_id": sub.id, "events": sub.events, "branch_id": branch_id},
    )
    return Created(sub, derive_secret(keyring, sub.id, 1))


def list_subscriptions(session: Session, organization_id: str) -> list[WebhookSubscription]:
    """The organization's subscriptions (deleted ones are gone), oldest first; a branch
    token gets only its branch's."""
    query = select(WebhookSubscription).where(
        WebhookSubscription.organization_id == organization_id,
        WebhookSubscription.status != DELETED,
    )
    if (branch := current_branch()) is not None:
        query = query.where(WebhookSubscription.branch_id == branch)
    return list(
        session.scalars(query.order_by(WebhookSubscription.created_at, WebhookSubscription.id))
    )


def get_subscription(
    session: Session, organization_id: str, subscription_id: str, *, lock: bool = False
) -> WebhookSubscription:
    """One subscription of the organization; 404 for others' or deleted ones (and, for a
    branch token, for any outside its branch)."""
    query = select(WebhookSubscription).where(
        WebhookSubscription.id == subscription_id,
        WebhookSubscription.organization_id == organization_id,
        WebhookSubscription.status != DELETED,
    )
    if (branch := current_branch()) is not None:
        query = query.where(WebhookSubscription.branch_id == branch)
    if lock:
        query = query.with_for_update()
    sub = session.scalars(query).first()
    if sub is None:
        raise NotFound("No such webhook in this organization.")
    return sub


def _abandon_pending(session: Session, subscription_id: str, reason: str, now: datetime) -> None:
    session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.status == PENDING,
        )
        .values(status=DEAD, last_error=reason, finished_at=now, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )


def delete_subscription(
    session: Session,
    organization_id: str,
    subscription_id: str,
    *,
    now: datetime,
    actor: str = "api",
) -> None:
    """Stop delivering to the subscription; its pending deliveries are dropped."""
    sub = get_subscription(session, organization_id, subscription_id, lock=True)
    sub.status = DELETED
    sub.updated_at = now
    _abandon_pending(session, sub.id, "the webhook was deleted", now)
    record(
        session,
        organization_id,
        "webhook.deleted",
        at=now,
        actor=actor,
        data={"webhook_id": sub.id},
    )


def disable_subscription(
    session: Session, sub: WebhookSubscription, reason: str, *, now: datetime
) -> None:
    """Disable (after 410 Gone); reported in GET; pending deliveries are dead-lettered."""
    sub.status = DISABLED
    sub.disabled_reason = reason
    sub.disabled_at = now
    sub.updated_at = now
    _abandon_pending(session, sub.id, reason, now)


def enable_subscription(
    session: Session, organization_id: str, subscription_id: str, *, now: datetime
) -> WebhookSubscription:
    """Deliver again to a disabled subscription (new events only; replay for the rest)."""
    sub = get_subscription(session, organization_id, subscription_id, lock=True)
    sub.status = ACTIVE
    sub.disabled_reason = None
    sub.disabled_at = None
    sub.updated_at = now
    return sub


def rotate_secret(
    session: Session,
    keyring: Keyring,
    organization_id: str,
    subscription_id: str,
    *,
    overlap: timedelta,
    now: datetime,
) -> tuple[WebhookSubscription, str]:
    """A new secret; the previous one keeps signing beside it for ``overlap``."""
    sub = get_subscription(session, organization_id, subscription_id, lock=True)
    sub.previous_secret_version = sub.secret_version
    sub.previous_secret_until = now + overlap if overlap.total_seconds() > 0 else None
    sub.secret_version += 1
    sub.updated_at = now
    return sub, derive_secret(keyring, sub.id, sub.secret_version)


def matches(sub: WebhookSubscription, event_type: str) -> bool:
    """True when the subscription wants ``event_type``."""
    return ALL_EVENTS in sub.events or event_type in sub.events


def event_branch(session: Session, event: Event) -> tuple[bool, str | None]:
    """(whether the event concerns an envelope or another object of a branch, that
    branch or None). Appointment events carry their branch in ``data.branch_id``."""
    if not event.envelope_id:
        data = event.data if isinstance(event.data, dict) else {}
        if "branch_id" in data:
            branch = data["branch_id"]
            return True, str(branch) if branch else None
        return False, None
    env = session.get(Envelope, event.envelope_id)
    return True, env.branch_id if env is not None else None


def in_branch(sub: WebhookSubscription, where: tuple[bool, str | None]) -> bool:
    """True when a subscription may see an event at ``where`` (see the module doc)."""
    about_envelope, branch = where
    return sub.branch_id is None or not about_envelope or branch == sub.branch_id


def ordering_key(event: Event) -> str:
    """Deliveries with the same key (per subscription) are delivered in order."""
    if event.envelope_id:
        return event.envelope_id
    data = event.data if isinstance(event.data, dict) else {}
    key = data.get("agreement_id") or data.get("appointment_id")
    return str(key) if key else event.event_id


def _new_delivery(
    session: Session,
    sub: WebhookSubscription,
    event: Event,
    *,
    now: datetime,
    replay_of: str | None = None,
) -> WebhookDelivery:
    delivery = WebhookDelivery(
        delivery_id=f"dlv_{uuid.uuid4().hex}",
        organization_id=sub.organization_id,
        subscription_id=sub.id,
        event_pk=event.id,
        event_id=event.event_id,
        event_type=event.type,
        envelope_id=event.envelope_id,
        ordering_key=ordering_key(event),
        status=PENDING,
        attempts=0,
        replay_of=replay_of,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(delivery)
    session.flush()
    schedule(session, delivery, at=now)
    return delivery


def schedule(session: Session, delivery: WebhookDelivery, *, at: datetime) -> Job:
    """Queue the next attempt of ``delivery`` (the job carries the attempt number, so a
    stale job for an attempt already made does nothing)."""
    job = enqueue(
        session,
        JobKind.WEBHOOK,
        {"delivery": delivery.id, "attempt": delivery.attempts},
        now=at,
    )
    return job


def fan_out(session: Session, event: Event) -> int:
    """Create a delivery per active subscription that wants ``event``; return how many."""
    session.flush()  # the event's id orders deliveries
    subs = session.scalars(
        select(WebhookSubscription).where(
            WebhookSubscription.organization_id == event.organization_id,
            WebhookSubscription.status == ACTIVE,
        )
    ).all()
    where = event_branch(session, event) if any(s.branch_id for s in subs) else (False, None)
    count = 0
    for sub in subs:
        if matches(sub, event.type) and in_branch(sub, where):
            _new_delivery(session, sub, event, now=event.created_at)
            count += 1
    return count


def list_deliveries(
    session: Session,
    organization_id: str,
    subscription_id: str,
    *,
    limit: int,
    cursor: str | None,
    status: str | None,
) -> tuple[list[WebhookDelivery], str | None]:
    """A page of the delivery log, newest first, and the cursor of the next page."""
    get_subscription(session, organization_id, subscription_id)
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if cursor is not None:
        (last,) = decode_cursor(cursor, 1)
        if not isinstance(last, int):
            raise InvalidInput("The cursor is not valid; pass back `next_cursor` as is.")
        query = query.where(WebhookDelivery.id < last)
    rows = list(session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def replay_delivery(
    session: Session,
    organization_id: str,
    subscription_id: str,
    delivery_id: str,
    *,
    now: datetime,
    actor: str = "api",
) -> WebhookDelivery:
    """Send one delivery's event again (same ``webhook-id``), as a new delivery."""
    sub = get_subscription(session, organization_id, subscription_id)
    _require_active(sub)
    original = session.scalars(
        select(WebhookDelivery).where(
            WebhookDelivery.delivery_id == delivery_id,
            WebhookDelivery.subscription_id == sub.id,
        )
    ).first()
    if original is None:
        raise NotFound("No such delivery for this webhook.")
    event = session.get(Event, original.event_pk)
    assert event is not None
    replay = _new_delivery(session, sub, event, now=now, replay_of=original.delivery_id)
    record(
        session,
        organization_id,
        "webhook.replayed",
        at=now,
        actor=actor,
        data={"webhook_id": sub.id, "delivery_id": replay.delivery_id, "of": delivery_id},
    )
    return replay


def replay_since(
    session: Session,
    organization_id: str,
    subscription_id: str,
    since: datetime,
    *,
    now: datetime,
) -> list[WebhookDelivery]:
    """Send again every event since ``since`` that the subscription wants, in order."""
    sub = get_subscription(session, organization_id, subscription_id)
    _require_active(sub)
    events = session.scalars(
        select(Event)
        .where(Event.organization_id == organization_id, Event.created_at >= since)
        .order_by(Event.id)
        .limit(MAX_REPLAY + 1)
    ).all()
    if len(events) > MAX_REPLAY:
        raise InvalidInput(
            f"More than {MAX_REPLAY} events since then; replay a shorter period.", field="since"
        )
    return [
        _new_delivery(session, sub, e, now=now)
        for e in events
        if matches(sub, e.type)
        and (sub.branch_id is None or in_branch(sub, event_branch(session, e)))
    ]


def _require_active(sub: WebhookSubscription) -> None:
    if sub.status != ACTIVE:
        raise Conflict(
            "The webhook is disabled (its endpoint answered 410 Gone); "
            f"enable it first with POST /api/v1/webhooks/{sub.id}/enable."
        )


def delivery_view(d: WebhookDelivery) -> dict[str, Any]:
    """The log entry of a delivery (the API shape)."""
    return {
        "id": d.delivery_id,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "envelope_id": d.envelope_id,
        "status": d.status,
        "attempts": d.attempts,
        "response_status": d.response_status,
        "last_error": d.last_error,
        "replay_of": d.replay_of,
        "created_at": d.created_at,
        "last_attempt_at": d.last_attempt_at,
        "next_attempt_at": d.next_attempt_at,
        "finished_at": d.finished_at,
    }
