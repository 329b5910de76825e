"""The outbox handler that emails a staff invitation (its link to set a password)."""

from __future__ import annotations

from medsign.branding.outbound import sender_name
from medsign.i18n import t
from medsign.jobs.outbox import JobCall
from medsign.notify.ports import Channel, Message, Sender
from medsign.organizations.models import Organization
from medsign.runtime import Runtime
from medsign.staff.models import StaffMember
from medsign.staff.service import pending_invitation


def send_invitation(rt: Runtime, call: JobCall, senders: dict[Channel, Sender]) -> None:
    """Email the invitation link; nothing when it was used or withdrawn meanwhile."""
    staff_id = str(call.payload["staff_id"])
    with rt.transaction(write=False) as session:
        found = pending_invitation(session, rt.keyring, staff_id)
        member = session.get(StaffMember, staff_id)
        if found is None or member is None:
            return
        org = session.get(Organization, member.organization_id)
        org_name = org.name if org else ""
        brand = sender_name(session, member.organization_id)
    email, token = found
    url = f"{rt.settings.public_url.rstrip('/')}/console/invite/{token}"
    lang = rt.settings.default_lang
    senders["email"].send(
        Message(
            channel="email",
            to=email,
            subject=t("staff_invite_subject", lang, org=org_name),
            body=t("staff_invite_body", lang, org=org_name, url=url),
            idempotency_key=call.id,  # the same for every attempt of this job
            sender_name=brand,
        )
    )
