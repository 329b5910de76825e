"""Outbox handlers of the cabinet: a login code to a contact, an attach code to a card.

Codes are derived again from the deployment key and the row id (never stored in
clear); a code already used, withdrawn or expired is not sent.
"""

from __future__ import annotations

from medsign.branding.outbound import sender_name
from medsign.cabinet.attach import CODE_DIGITS
from medsign.cabinet.models import AttachCode, CabinetLoginCode
from medsign.envelopes.messages import hand_off
from medsign.i18n import t
from medsign.jobs.outbox import JobCall
from medsign.notify.ports import Channel, Message, Sender
from medsign.organizations.models import Organization
from medsign.patients.models import Patient
from medsign.runtime import Runtime


def send_login_code(rt: Runtime, call: JobCall, senders: dict[Channel, Sender]) -> None:
    """Deliver a cabinet login code (not metered: no clinic asked for it)."""
    with rt.transaction() as session:
        row = session.get(CabinetLoginCode, str(call.payload["code_id"]))
        if row is None or row.used_at is not None:
            return
        if rt.clock() >= row.sent_at + rt.otp_rules.ttl:
            return
        channel: Channel = "sms" if row.channel == "sms" else "email"
        message = Message(
            channel=channel,
            to=row.contact,
            subject=t("cabinet_code_subject", row.lang),
            body=t("cabinet_code_body", row.lang, code=rt.keyring.otp_code(row.id)),
            idempotency_key=call.id,
        )
    senders[channel].send(message)


def send_attach_code(rt: Runtime, call: JobCall, senders: dict[Channel, Sender]) -> None:
    """Deliver an attach code to the card's contact (metered to the organization)."""
    with rt.transaction() as session:
        row = session.get(AttachCode, str(call.payload["attach_code_id"]))
        if row is None or row.used_at is not None or row.revoked_at is not None:
            return
        if rt.clock() >= row.expires_at:
            return
        patient = session.get(Patient, row.patient_id)
        org = session.get(Organization, row.organization_id)
        assert patient is not None and org is not None
        to = patient.phone if row.channel == "sms" else patient.email
        if not to:
            return  # the card lost that contact since; the printed code still works
        channel: Channel = "sms" if row.channel == "sms" else "email"
        lang = rt.settings.default_lang
        message = Message(
            channel=channel,
            to=to,
            subject=t("attach_code_subject", lang, org=org.name),
            body=t(
                "attach_code_body",
                lang,
                org=org.name,
                code=rt.keyring.otp_code(row.id, digits=CODE_DIGITS),
                url=rt.cabinet_url(),
            ),
            idempotency_key=call.id,
            sender_name=sender_name(session, row.organization_id),
        )
        scope = (row.organization_id, None)
    hand_off(rt, call, senders[channel], message, scope)
