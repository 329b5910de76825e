"""The outbox handler that sends a clinician their device enrollment link."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from medsign.branding.outbound import sender_name
from medsign.clinicians.models import Clinician, ClinicianEnrollment
from medsign.clinicians.service import enrollment_token, enrollment_url
from medsign.envelopes.messages import hand_off
from medsign.i18n import t
from medsign.jobs.outbox import JobCall
from medsign.notify.ports import Channel, Message, Sender
from medsign.organizations.models import Organization
from medsign.runtime import Runtime


def send_enrollment(rt: Runtime, call: JobCall, senders: dict[Channel, Sender]) -> None:
    """Send the enrollment link by email (else SMS); skipped once used or expired."""
    with rt.transaction() as session:
        enrollment = session.get(ClinicianEnrollment, str(call.payload["enrollment_id"]))
        if enrollment is None or enrollment.used_at is not None:
            return
        if enrollment.expires_at <= rt.clock():
            return
        clinician = session.get(Clinician, enrollment.clinician_id)
        org = session.get(Organization, enrollment.organization_id)
        assert clinician is not None and org is not None
        channel: Channel
        if clinician.email:
            channel, to = "email", clinician.email
        elif clinician.phone:
            channel, to = "sms", clinician.phone
        else:
            return
        url = enrollment_url(rt.settings.public_url, enrollment_token(rt.keyring, enrollment.id))
        expires = enrollment.expires_at.astimezone(ZoneInfo(rt.settings.time_zone))
        message = Message(
            channel=channel,
            to=to,
            subject=t("enroll_subject", clinician.lang, org=org.name),
            body=t(
                "enroll_body",
                clinician.lang,
                org=org.name,
                url=url,
                expires=expires.strftime("%Y-%m-%d %H:%M %z"),
            ),
            idempotency_key=call.id,  # the same for every attempt of this job
            sender_name=sender_name(session, enrollment.organization_id),
        )
        scope = (enrollment.organization_id, enrollment.branch_id)
    hand_off(rt, call, senders[channel], message, scope)
