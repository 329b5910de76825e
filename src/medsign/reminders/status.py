"""A rule's ``set_status``: applied to the appointment once the rule's message was sent.

The firing keeps the status to set; this sweep (worker housekeeping) finds firings whose
message the notification queue has sent or delivered, sets the status and clears it, or
just clears it when the message was dead-lettered. It reads only firings still waiting
(a partial index) and locks them with ``SKIP LOCKED``, so workers share the work.
"""

from __future__ import annotations

from sqlalchemy import and_, select, update

from medsign.appointments.service import set_status_by_rule
from medsign.notify.models import NotificationMessage
from medsign.notify.outbound import MessageStatus
from medsign.reminders.models import NotificationFiring
from medsign.runtime import Runtime

OUT = (MessageStatus.SENT.value, MessageStatus.DELIVERED.value)
OVER = (*OUT, MessageStatus.DEAD.value)


def apply_statuses(rt: Runtime, *, batch: int = 200) -> int:
    """Set the statuses whose messages went out (one batch); return the firings done."""
    now = rt.clock()
    with rt.transaction() as session:
        rows = session.execute(
            select(
                NotificationFiring.id,
                NotificationFiring.appointment_id,
                NotificationFiring.set_status,
                NotificationMessage.status,
            )
            .join(
                NotificationMessage,
                and_(
                    NotificationMessage.organization_id == NotificationFiring.organization_id,
                    NotificationMessage.idempotency_key == NotificationFiring.id,
                ),
            )
            .where(NotificationFiring.set_status.is_not(None), NotificationMessage.status.in_(OVER))
            .order_by(NotificationFiring.fired_at)
            .limit(batch)
            .with_for_update(skip_locked=True, of=NotificationFiring)
        ).all()
        for firing_id, appointment_id, status, message_status in rows:
            if message_status in OUT and appointment_id and status:
                set_status_by_rule(session, appointment_id, status, now=now)
            session.execute(
                update(NotificationFiring)
                .where(NotificationFiring.id == firing_id)
                .values(set_status=None)
                .execution_options(synchronize_session=False)
            )
        return len(rows)
