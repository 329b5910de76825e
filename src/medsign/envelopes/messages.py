"""Outbox handlers that tell signers things: their link, their code."""

from __future__ import annotations

from medsign.documents.models import Document
from medsign.domain.policy import Method
from medsign.domain.states import EnvelopeStatus, SignerStatus
from medsign.envelopes.models import OtpChallenge, Signer
from medsign.i18n import t
from medsign.jobs.models import Job
from medsign.notify.ports import Channel, Message, Sender
from medsign.organizations.models import Organization
from medsign.runtime import Runtime


def _channel(signer: Signer) -> tuple[Channel, str]:
    if signer.method == Method.SMS_OTP.value and signer.phone:
        return "sms", signer.phone
    assert signer.email is not None
    return "email", signer.email


def send_invite(rt: Runtime, job: Job, senders: dict[Channel, Sender]) -> None:
    """Send a signer the link to the signing page (skipped if they may no longer sign)."""
    with rt.transaction() as session:
        signer = session.get(Signer, str(job.payload["signer_id"]))
        if signer is None:
            return
        env = signer.envelope
        if signer.status != SignerStatus.NOTIFIED.value or env.status != EnvelopeStatus.SENT.value:
            return
        doc = session.get(Document, env.document_id)
        org = session.get(Organization, env.organization_id)
        assert doc is not None and org is not None
        url = rt.signing_url(rt.keyring.link_token(signer.id, signer.link_version))
        channel, to = _channel(signer)
        message = Message(
            channel=channel,
            to=to,
            subject=t("invite_subject", signer.lang, title=doc.title),
            body=t("invite_body", signer.lang, org=org.name, title=doc.title, url=url),
            idempotency_key=job.id,
        )
    senders[channel].send(message)


def send_code(rt: Runtime, job: Job, senders: dict[Channel, Sender]) -> None:
    """Deliver a one-time code (skipped if it was used or has expired)."""
    with rt.transaction() as session:
        challenge = session.get(OtpChallenge, str(job.payload["challenge_id"]))
        if challenge is None or challenge.used_at is not None:
            return
        if rt.clock() >= challenge.sent_at + rt.otp_rules.ttl:
            return
        signer = session.get(Signer, challenge.signer_id)
        assert signer is not None
        doc = session.get(Document, signer.envelope.document_id)
        assert doc is not None
        code = rt.keyring.otp_code(challenge.id)
        channel, to = _channel(signer)
        message = Message(
            channel=channel,
            to=to,
            subject=t("code_subject", signer.lang),
            body=t("code_body", signer.lang, title=doc.title, code=code),
            idempotency_key=job.id,
        )
    senders[channel].send(message)
