"""Picking a sender per channel, and the dev outbox used when none is configured."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from medsign.notify.models import DevMessage
from medsign.notify.ports import Channel, Message, Sender
from medsign.notify.sms_http import HttpSmsSender
from medsign.notify.smtp import SmtpSender
from medsign.settings import Settings

log = logging.getLogger("medsign.outbox")


class DevOutboxSender:
    """Keeps messages in the database for the ``/dev/outbox`` page and logs them.

    Only used when a channel has no real backend; a repeated idempotency key is
    stored once, as a real gateway would deduplicate it.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def send(self, message: Message) -> None:
        """Store ``message`` unless one with the same idempotency key exists."""
        with self.sessions() as session, session.begin():
            exists = session.scalar(
                select(DevMessage.id).where(DevMessage.idempotency_key == message.idempotency_key)
            )
            if exists is None:
                session.add(
                    DevMessage(
                        idempotency_key=message.idempotency_key,
                        channel=message.channel,
                        to=message.to,
                        subject=message.subject,
                        body=message.body,
                    )
                )
        log.info("dev outbox (%s): %s — see /dev/outbox", message.channel, message.body)


def build_senders(settings: Settings, sessions: sessionmaker[Session]) -> dict[Channel, Sender]:
    """One sender per channel: SMTP / HTTP gateway when configured, else the dev outbox."""
    dev = DevOutboxSender(sessions)
    email: Sender = (
        SmtpSender(settings.smtp_url.get_secret_value(), settings.smtp_from)
        if settings.smtp_url is not None
        else dev
    )
    sms: Sender = (
        HttpSmsSender(
            settings.sms_url,
            settings.sms_token.get_secret_value() if settings.sms_token else None,
        )
        if settings.sms_url
        else dev
    )
    return {"email": email, "sms": sms}
