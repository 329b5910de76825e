"""Outbox handlers that tell signers things: their link, their code, how it ended."""

from __future__ import annotations

from sqlalchemy.orm import Session

from medsign.branding.outbound import base_url, sender_name
from medsign.documents.models import Document
from medsign.domain.policy import Method
from medsign.domain.states import EnvelopeStatus, SignerStatus
from medsign.envelopes.models import OtpChallenge, Signer
from medsign.i18n import t
from medsign.jobs.outbox import JobCall
from medsign.notify.outbound import Recipient, queue_message
from medsign.notify.ports import Channel, Message, Sender
from medsign.organizations.models import Organization
from medsign.patients.service import active_agreement, revoke_token
from medsign.runtime import Runtime
from medsign.usage.service import local_day, message_amounts, record_usage


def _channel(signer: Signer) -> tuple[Channel, str] | None:
    """The signer's channel and address (None for a seal signer with no contact)."""
    if signer.method == Method.SMS_OTP.value and signer.phone:
        return "sms", signer.phone
    if signer.email:
        return "email", signer.email
    if signer.phone:
        return "sms", signer.phone
    return None


def hand_off(
    rt: Runtime,
    call: JobCall,
    sender: Sender,
    message: Message,
    signer_scope: tuple[str, str | None],
) -> None:
    """Hand ``message`` to its sender, then meter it (SMS segments per 3GPP TS 23.038).

    Counted only after the hand-off succeeded, under the job's id: a job that fails
    counts nothing, one retried after a crash past this point is handed off again (the
    gateway deduplicates by the same id) and counted once.
    """
    sender.send(message)
    organization_id, branch_id = signer_scope
    now = rt.clock()
    with rt.transaction() as session:
        record_usage(
            session,
            organization_id=organization_id,
            branch_id=branch_id,
            day=local_day(now, rt.settings.time_zone),
            key=f"message:{call.id}",
            amounts=message_amounts(message.channel, message.body),
            now=now,
        )


def _scope(signer: Signer) -> tuple[str, str | None]:
    """The organization and branch a signer's messages are metered to."""
    return signer.envelope.organization_id, signer.envelope.branch_id


def _revoke_hint(session: Session, rt: Runtime, signer: Signer) -> str:
    """Every message to a patient with an EDO agreement carries the link to revoke it."""
    if not signer.patient_id:
        return ""
    agreement = active_agreement(
        session, signer.envelope.organization_id, signer.patient_id, rt.clock()
    )
    if agreement is None:
        return ""
    url = (
        f"{rt.settings.public_url.rstrip('/')}/edo/revoke/{revoke_token(rt.keyring, agreement.id)}"
    )
    return "\n" + t("revoke_hint", signer.lang, url=url)


def _context(session: Session, signer: Signer) -> tuple[Document, Organization]:
    doc = session.get(Document, signer.envelope.document_id)
    org = session.get(Organization, signer.envelope.organization_id)
    assert doc is not None and org is not None
    return doc, org


def send_invite(rt: Runtime, call: JobCall, senders: dict[Channel, Sender]) -> None:
    """Send a signer the link to the signing page (or a reminder); skipped if they may
    no longer sign."""
    with rt.transaction() as session:
        signer = session.get(Signer, str(call.payload["signer_id"]))
        if signer is None:
            return
        env = signer.envelope
        if signer.status != SignerStatus.NOTIFIED.value or env.status != EnvelopeStatus.SENT.value:
            return
        doc, org = _context(session, signer)
        url = (
            rt.cabinet_url()  # signed inside the patient cabinet (docs/cabinet.md)
            if signer.method == Method.CABINET.value
            else rt.signing_url(
                rt.keyring.link_token(signer.id, signer.link_version),
                base_url(session, org.id, rt.settings.public_url),
            )
        )
        subject_key = "reminder_subject" if call.payload.get("reminder") else "invite_subject"
        subject = t(subject_key, signer.lang, title=doc.title)
        body = t("invite_body", signer.lang, org=org.name, title=doc.title, url=url)
        body += _revoke_hint(session, rt, signer)
        if signer.method == Method.CABINET.value and (signer.patient_id or _channel(signer)):
            _invite_to_cabinet(rt, session, call, signer, subject, body)
            return
        route = _channel(signer)
        if route is None:
            return
        channel, to = route
        scope = _scope(signer)
        message = Message(
            channel=channel,
            to=to,
            subject=subject,
            body=body,
            idempotency_key=call.id,  # the same for every attempt of this job
            sender_name=sender_name(session, signer.envelope.organization_id),
        )
    hand_off(rt, call, senders[channel], message, scope)


def _invite_to_cabinet(
    rt: Runtime, session: Session, call: JobCall, signer: Signer, subject: str, body: str
) -> None:
    """A document to sign in the cabinet goes out as a notification on the
    organization's fallback order (docs/notifications.md): push to the patient's cabinet
    first where the order says so, email or SMS (the signer's contact, else the patient
    card's) only when push did not reach them. The
    message is queued in this job's transaction, keyed by the job (a retry queues it
    once); it is metered when a channel takes it."""
    env = signer.envelope
    queue_message(
        session,
        organization_id=env.organization_id,
        recipient=Recipient(patient_id=signer.patient_id, email=signer.email, phone=signer.phone),
        subject=subject,
        text=body,
        idempotency_key=f"invite:{call.id}",
        now=rt.clock(),
        branch_id=env.branch_id,
        event="envelope.invite",
        link=f"{rt.cabinet_url()}/documents/{signer.id}?lang={signer.lang}",
    )


def send_notice(rt: Runtime, call: JobCall, senders: dict[Channel, Sender]) -> None:
    """Tell a signer or viewer that the envelope completed (with their copy) or that
    someone declined."""
    notice = str(call.payload["notice"])
    with rt.transaction() as session:
        signer = session.get(Signer, str(call.payload["signer_id"]))
        if signer is None:
            return
        route = _channel(signer)
        if route is None:
            return  # a seal signer: the MIS learns of it by webhook
        channel, to = route
        scope = _scope(signer)
        doc, org = _context(session, signer)
        url = rt.signing_url(
            rt.keyring.link_token(signer.id, signer.link_version),
            base_url(session, org.id, rt.settings.public_url),
        )
        message = Message(
            channel=channel,
            to=to,
            subject=t(f"{notice}_subject", signer.lang, title=doc.title),
            body=t(f"{notice}_body", signer.lang, org=org.name, title=doc.title, url=url)
            + _revoke_hint(session, rt, signer),
            idempotency_key=call.id,  # the same for every attempt of this job
            sender_name=sender_name(session, signer.envelope.organization_id),
        )
    hand_off(rt, call, senders[channel], message, scope)


def send_code(rt: Runtime, call: JobCall, senders: dict[Channel, Sender]) -> None:
    """Deliver a one-time code (skipped if it was used or has expired)."""
    with rt.transaction() as session:
        challenge = session.get(OtpChallenge, str(call.payload["challenge_id"]))
        if challenge is None or challenge.used_at is not None:
            return
        if rt.clock() >= challenge.sent_at + rt.otp_rules.ttl:
            return
        signer = session.get(Signer, challenge.signer_id)
        assert signer is not None
        doc, _ = _context(session, signer)
        code = rt.keyring.otp_code(challenge.id)
        route = _channel(signer)
        assert route is not None  # codes go only to signers with a channel
        channel, to = route
        scope = _scope(signer)
        message = Message(
            channel=channel,
            to=to,
            subject=t("code_subject", signer.lang),
            body=t("code_body", signer.lang, title=doc.title, code=code),
            idempotency_key=call.id,  # the same for every attempt of this job
            sender_name=sender_name(session, signer.envelope.organization_id),
        )
    hand_off(rt, call, senders[channel], message, scope)
