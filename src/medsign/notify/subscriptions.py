"""Push subscriptions: keeping a browser's subscription for whoever it belongs to, and
finding the subscriptions a message's push goes to (docs/notifications.md "Web Push").

Holders: a patient cabinet account (``cabinet``; no organization, one per browser
endpoint, tied to the cabinet session that subscribed), a clinician's device
(``device``; the clinician app's workplaces share one service worker, so one endpoint
may serve several devices), or whatever an MIS registers through the API
(``patient``, ``staff``; one subject per endpoint in the organization).

A push subscription is a capability: whoever holds the endpoint and its keys can send
to that browser (W3C Push API §4). So an endpoint already held under other keys, or by
another kind of holder, is refused (409) rather than taken over; the same endpoint with
the same auth secret comes from the same browser registration and may move.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from medsign.cabinet.models import CabinetAccount, CabinetSession, PatientLink
from medsign.errors import Conflict, InvalidInput, NotFound
from medsign.notify.models import NotificationMessage, PushSubscription
from medsign.notify.schemas import PushKeys

CABINET = "cabinet"
DEVICE = "device"


@dataclass(frozen=True)
class Holder:
    """Whose subscription it is."""

    kind: str
    id: str
    organization_id: str | None = None
    session_id: str | None = None  # the cabinet session that subscribed


def check_endpoint(endpoint: str) -> None:
    """An https push service URL (RFC 8030 §8: push services use TLS); plain http only
    on loopback (development, tests)."""
    if not endpoint.startswith(("https://", "http://127.", "http://localhost:", "http://[::1]")):
        raise InvalidInput("endpoint must be an https:// URL", field="endpoint")


def save(
    session: Session,
    holder: Holder,
    endpoint: str,
    keys: PushKeys,
    *,
    now: datetime,
    shared: bool,
) -> PushSubscription:
    """Store ``holder``'s subscription (again: the keys and session are renewed).

    ``shared``: other holders of the same kind keep the endpoint too (the clinician
    app's workplaces); otherwise it moves to ``holder`` (a cabinet on a browser another
    account used before). Two saves of one subscription at once store it once."""
    check_endpoint(endpoint)
    for _ in range(2):
        rows = list(
            session.scalars(
                select(PushSubscription)
                .where(PushSubscription.endpoint == endpoint)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        )
        if any(
            r.subject_kind != holder.kind
            or r.auth != keys.auth
            or (not shared and r.organization_id != holder.organization_id)
            for r in rows
        ):
            raise Conflict("This push endpoint is registered elsewhere.", field="endpoint")
        mine = next((r for r in rows if r.subject_id == holder.id), None)
        if not shared:
            for other in rows:
                if other is not mine:
                    session.delete(other)
        if mine is not None:
            _fill(mine, holder, keys, now)
            session.flush()
            return mine
        row = PushSubscription(subject_kind=holder.kind, subject_id=holder.id, endpoint=endpoint)
        _fill(row, holder, keys, now)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue  # saved a moment ago by a parallel request: update that row
        return row
    raise Conflict("This push subscription is being saved by another request; try again.")


def _fill(row: PushSubscription, holder: Holder, keys: PushKeys, now: datetime) -> None:
    row.organization_id = holder.organization_id
    row.session_id = holder.session_id
    row.p256dh = keys.p256dh
    row.auth = keys.auth
    row.created_at = now


def remove(session: Session, holder: Holder, endpoint: str) -> None:
    """Forget ``holder``'s subscription of ``endpoint`` (NotFound when it has none)."""
    result = session.execute(
        delete(PushSubscription).where(
            PushSubscription.endpoint == endpoint,
            PushSubscription.subject_kind == holder.kind,
            PushSubscription.subject_id == holder.id,
        )
    )
    if not getattr(result, "rowcount", 0):
        raise NotFound("This device has no push subscription here.")


def endpoints_of(session: Session, holder: Holder) -> list[str]:
    """The endpoints ``holder`` has subscribed (its session's only, for a cabinet)."""
    query = select(PushSubscription.endpoint).where(
        PushSubscription.subject_kind == holder.kind, PushSubscription.subject_id == holder.id
    )
    if holder.session_id is not None:
        query = query.where(PushSubscription.session_id == holder.session_id)
    return list(session.scalars(query.order_by(PushSubscription.created_at)))


def forget_holder(session: Session, holder: Holder) -> None:
    """Drop every subscription of ``holder`` (a revoked device)."""
    session.execute(
        delete(PushSubscription).where(
            PushSubscription.subject_kind == holder.kind,
            PushSubscription.subject_id == holder.id,
        )
    )


def forget_sessions(session: Session, session_ids: Sequence[str]) -> None:
    """Drop the subscriptions of cabinet sessions that ended (log out): a shared phone
    stops showing the previous patient's notifications."""
    if session_ids:
        session.execute(
            delete(PushSubscription).where(PushSubscription.session_id.in_(list(session_ids)))
        )


def _cabinet_accounts(message: NotificationMessage) -> Select[str]:
    """The cabinet accounts ``message`` may reach: those attached to its patient's card
    in its organization, or (a message to a contact without a card) the account of that
    verified contact if it is attached to the organization (as the cabinet lists
    documents, medsign.cabinet.library)."""
    live = (
        PatientLink.organization_id == message.organization_id,
        PatientLink.detached_at.is_(None),
    )
    if message.subject_kind == CABINET and message.subject_id:
        return select(PatientLink.account_id).where(
            *live, PatientLink.account_id == message.subject_id
        )
    if message.patient_id:
        return select(PatientLink.account_id).where(
            *live, PatientLink.patient_id == message.patient_id
        )
    contacts = [c for c in (message.phone, message.email, (message.email or "").lower()) if c]
    return (
        select(CabinetAccount.id)
        .join(PatientLink, PatientLink.account_id == CabinetAccount.id)
        .where(*live, CabinetAccount.contact.in_(contacts))
    )


def push_targets(
    session: Session, message: NotificationMessage, *, now: datetime, cabinet_idle: timedelta
) -> list[str]:
    """The subscriptions (as ``PushSubscription.toJSON()``) a message's push goes to:
    its subject's in its organization, and the cabinets of its patient whose session is
    still live (not logged out, not idle past ``cabinet_idle``). Newest first."""
    reach = []
    if message.subject_kind is not None and message.subject_id is not None:
        reach.append(
            (PushSubscription.organization_id == message.organization_id)
            & (PushSubscription.subject_kind == message.subject_kind)
            & (PushSubscription.subject_id == message.subject_id)
        )
    if message.patient_id or message.subject_kind == CABINET or message.phone or message.email:
        live_session = select(CabinetSession.id).where(
            CabinetSession.ended_at.is_(None), CabinetSession.last_seen_at > now - cabinet_idle
        )
        reach.append(
            (PushSubscription.subject_kind == CABINET)
            & PushSubscription.subject_id.in_(_cabinet_accounts(message))
            & PushSubscription.session_id.in_(live_session)
        )
    if not reach:
        return []
    subs = session.scalars(
        select(PushSubscription)
        .where(or_(*reach))
        .order_by(PushSubscription.created_at.desc(), PushSubscription.id)
    ).all()
    seen: set[str] = set()
    found = []
    for s in subs:
        if s.endpoint not in seen:
            seen.add(s.endpoint)
            found.append(
                json.dumps({"endpoint": s.endpoint, "keys": {"p256dh": s.p256dh, "auth": s.auth}})
            )
    return found


def count_for(session: Session, holder: Holder) -> int:
    """How many subscriptions ``holder`` has (a device with none is not pushed to)."""
    return int(
        session.scalar(
            select(func.count()).where(
                PushSubscription.subject_kind == holder.kind,
                PushSubscription.subject_id == holder.id,
            )
        )
        or 0
    )
