"""The handler of every job kind (the composition point of the worker)."""

from __future__ import annotations

import time
from datetime import timedelta

from medsign.audit.sequencer import sequence_pending
from medsign.cabinet import messages as cabinet_messages
from medsign.cabinet.service import purge_stale
from medsign.clinicians.messages import send_enrollment
from medsign.clinicians.requests import prepare_signer
from medsign.console.bulk import run_bulk_chunk
from medsign.console.conversion import run_conversion
from medsign.envelopes import messages
from medsign.envelopes.sealing import seal_envelope
from medsign.envelopes.workflow import expire_due, remind_due
from medsign.evidence.service import create_evidence
from medsign.jobs.outbox import JobCall, JobKind
from medsign.jobs.retention import purge_done
from medsign.jobs.running import Handler
from medsign.notify.delivery import Deadlines
from medsign.notify.delivery import deliver as deliver_notification
from medsign.notify.dispatch import build_senders
from medsign.records.service import flag_overdue
from medsign.reminders.scan import fire_all_due
from medsign.reminders.schedule import run_schedule_job
from medsign.reminders.status import apply_statuses
from medsign.runtime import Runtime
from medsign.schedule.consent_hold import settle_envelope
from medsign.staff.messages import send_invitation
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

    def enrollment(rt: Runtime, call: JobCall) -> None:
        send_enrollment(rt, call, senders)

    def cabinet_code(rt: Runtime, call: JobCall) -> None:
        cabinet_messages.send_login_code(rt, call, senders)

    def attach_code(rt: Runtime, call: JobCall) -> None:
        cabinet_messages.send_attach_code(rt, call, senders)

    def staff_invite(rt: Runtime, call: JobCall) -> None:
        send_invitation(rt, call, senders)

    deadlines = Deadlines.from_settings(rt.settings)

    def notify(rt: Runtime, call: JobCall) -> None:
        deliver_notification(rt, call, senders, deadlines)

    return {
        JobKind.INVITE.value: invite,
        JobKind.CABINET_CODE.value: cabinet_code,
        JobKind.ATTACH_CODE.value: attach_code,
        JobKind.SEND_CODE.value: code,
        JobKind.SEAL.value: seal_envelope,
        JobKind.NOTICE.value: notice,
        JobKind.WEBHOOK_FAN_OUT.value: fan_out_events,
        JobKind.WEBHOOK.value: deliver_webhook,
        JobKind.EVIDENCE.value: create_evidence,
        JobKind.DEVICE_PREPARE.value: prepare_signer,
        JobKind.ENROLLMENT.value: enrollment,
        JobKind.BULK_SEND.value: run_bulk_chunk,
        JobKind.CONVERT.value: run_conversion,
        JobKind.STAFF_INVITE.value: staff_invite,
        JobKind.SCHEDULE.value: schedule,
        JobKind.NOTIFY.value: notify,
        JobKind.FOLLOW_UP.value: follow_up,
    }


def follow_up(rt: Runtime, call: JobCall) -> None:
    """A followed envelope was signed or ended (envelopes.workflow.follow_up): a
    telemedicine consent books or lets go of the slot held on it."""
    with rt.transaction() as session:
        settle_envelope(session, call.payload["envelope_id"], now=rt.clock())


def schedule(rt: Runtime, call: JobCall) -> None:
    """Recompute notification times after a change (medsign.reminders.schedule)."""
    with rt.transaction() as session:
        run_schedule_job(session, call.payload, now=rt.clock())


class Housekeeping:
    """What the worker runs between jobs, about every second (``Worker.run_forever``).

    Each call folds new audit events into the log and checkpoints it, so an event is
    covered by a signed, time-stamped checkpoint within a couple of seconds (the only
    window in which it could be dropped unnoticed); every ``sweep_seconds`` it also
    expires envelopes past their date, queues reminders that are due and deletes one
    batch of jobs finished longer ago than ``MEDSIGN_JOB_RETENTION_DAYS``.
    window in which it could be dropped unnoticed); it fires the notification rules
    that are due (medsign.reminders.scan, a bounded slice per round); every
    ``sweep_seconds`` it also expires envelopes past their date and queues reminders
    that are due.
    """

    def __init__(self, sweep_seconds: float = 30.0) -> None:
        self.sweep_seconds = sweep_seconds
        self._last_sweep: float | None = None

    def __call__(self, rt: Runtime) -> None:
        """One round of housekeeping."""
        now = time.monotonic()
        if self._last_sweep is None or now - self._last_sweep >= self.sweep_seconds:
            self._last_sweep = now
            with rt.transaction() as session:  # docs/cabinet.md "Keeping data"
                idle = timedelta(days=rt.settings.cabinet_session_days)
                purge_stale(session, idle=idle, now=rt.clock())
            with rt.transaction() as session:
                expire_due(session, now=rt.clock())
            with rt.transaction() as session:  # docs/cabinet.md "Record requests"
                flag_overdue(session, now=rt.clock())
            with rt.transaction() as session:
                remind_due(session, rt.settings.reminder_delays, now=rt.clock())
            with rt.transaction() as session:
                keep = timedelta(days=rt.settings.job_retention_days)
                purge_done(session, now=rt.clock(), keep=keep)
        fire_all_due(rt)
        apply_statuses(rt)
        sequence_pending(rt)


def periodic(rt: Runtime) -> None:
    """One full round of housekeeping now (sweeps included), e.g. from a test or cron."""
    Housekeeping(sweep_seconds=0.0)(rt)
