"""The handler of every job kind (the composition point of the worker)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from medsign.audit.checkpoints import checkpoints_due, make_checkpoint
from medsign.envelopes import messages
from medsign.envelopes.sealing import seal_envelope
from medsign.envelopes.workflow import expire_due, remind_due
from medsign.evidence.service import create_evidence
from medsign.jobs.outbox import JobCall, JobKind
from medsign.jobs.running import Handler
from medsign.notify.dispatch import build_senders
from medsign.runtime import Runtime
from medsign.webhooks.delivery import deliver as deliver_webhook
from medsign.webhooks.fanout import fan_out_events


def build_handlers(rt: Runtime) -> dict[str, Handler]:
    """Handlers bound to the senders this runtime's settings pick."""
    senders = build_senders(rt.settings, rt.sessions)

    def invite(rt: Runtime, call: JobCall) -> None:
        messages.send_invite(rt, call, senders)

    def code(rt: Runtime, call: JobCall) -> None:
        messages.send_code(rt, call, senders)

    def notice(rt: Runtime, call: JobCall) -> None:
        messages.send_notice(rt, call, senders)

    return {
        JobKind.INVITE.value: invite,
        JobKind.SEND_CODE.value: code,
        JobKind.SEAL.value: seal_envelope,
        JobKind.NOTICE.value: notice,
        JobKind.WEBHOOK_FAN_OUT.value: fan_out_events,
        JobKind.WEBHOOK.value: deliver_webhook,
        JobKind.EVIDENCE.value: create_evidence,
    }


def periodic(rt: Runtime) -> None:
    """Housekeeping the worker runs every few seconds: expire envelopes past their date,
    queue reminders that are due, checkpoint the audit chains that moved (hourly)."""
    with rt.transaction() as session:
        expire_due(session, now=rt.clock())
    with rt.transaction() as session:
        remind_due(session, rt.settings.reminder_delays, now=rt.clock())
    checkpoint_chains(rt)


def checkpoint_chains(rt: Runtime) -> None:
    """A time-stamped checkpoint of every chain head that moved since its organization's
    last checkpoint, at most once per CHECKPOINT_INTERVAL (one query when none is due)."""
    with rt.transaction() as session:
        due = checkpoints_due(session, now=rt.clock())
    if not due:
        return
    stamper = rt.seal_keys.timestamper()
    for org_id in due:
        try:
            with rt.transaction() as session:
                make_checkpoint(session, org_id, stamper, now=rt.clock())
        except IntegrityError:
            continue  # another worker recorded this head at the same moment
