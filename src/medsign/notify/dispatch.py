"""Picking a sender per channel, and the dev outbox used when none is configured."""

from __future__ import annotations

import logging
from email.utils import parseaddr
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from medsign.notify.models import DevMessage
from medsign.notify.ports import Channel, Message, Sender
from medsign.notify.sms_http import HttpSmsSender
from medsign.notify.sms_kavenegar import KavenegarSender
from medsign.notify.sms_smsru import SmsRuSender
from medsign.notify.sms_twilio import TwilioSmsSender
from medsign.notify.smtp import DkimKey, SmtpSender
from medsign.notify.telegram import TelegramSender
from medsign.notify.webpush import WebPushSender, load_or_create_vapid
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


CALLBACKS = "/api/v1/notifications/callbacks"  # + "/sms", "/twilio", "/smsru", "/kavenegar", ...


def callback_url(settings: Settings, provider: str) -> str:
    """Where ``provider`` posts delivery reports (the exact URL Twilio signs)."""
    return f"{settings.public_url.rstrip('/')}{CALLBACKS}/{provider}"


def sms_sender(settings: Settings) -> Sender | None:
    """The SMS backend ``MEDSIGN_SMS_URL`` names (docs/sms-gateway.md), None if unset.

    ``http(s)://...`` is the HTTP gateway contract; ``twilio://<AccountSid>@host``,
    ``smsru://host`` and ``kavenegar://host`` are the provider adapters
    (``twilio+http`` etc. talk plain HTTP, for loopback tests); the token is the Auth
    Token, the ``api_id`` or the API key.
    """
    if not settings.sms_url:
        return None
    token = settings.sms_token.get_secret_value() if settings.sms_token else None
    parts = urlsplit(settings.sms_url)
    provider, _, transport = parts.scheme.partition("+")
    base = urlunsplit((transport or "https", parts.hostname or "", "", "", "")).rstrip("/")
    if parts.port:
        base = f"{base}:{parts.port}"
    base += parts.path.rstrip("/")
    if provider == "twilio":
        if not (parts.username and token and settings.sms_from):
            raise ValueError(
                "twilio:// needs the Account SID as user, MEDSIGN_SMS_TOKEN and MEDSIGN_SMS_FROM"
            )
        return TwilioSmsSender(
            base, parts.username, token, settings.sms_from, callback_url(settings, "twilio")
        )
    if provider == "smsru":
        if not token:
            raise ValueError("smsru:// needs the api_id in MEDSIGN_SMS_TOKEN")
        return SmsRuSender(base, token, settings.sms_from)
    if provider == "kavenegar":
        if not token:
            raise ValueError("kavenegar:// needs the API key in MEDSIGN_SMS_TOKEN")
        return KavenegarSender(base, token, settings.sms_from)
    callback = callback_url(settings, "sms") if settings.sms_callback_secret else None
    return HttpSmsSender(settings.sms_url, token, callback_url=callback)


def build_senders(settings: Settings, sessions: sessionmaker[Session]) -> dict[Channel, Sender]:
    """One sender per channel: SMTP (DKIM-signed when a key is set), the configured SMS
    backend, Web Push, and Telegram when a bot token is set; email and SMS fall back to
    the dev outbox."""
    dev = DevOutboxSender(sessions)
    dkim_key = (
        DkimKey.from_file(
            settings.dkim_key_file,
            settings.dkim_selector,
            settings.dkim_domain or parseaddr(settings.smtp_from)[1].rpartition("@")[2],
        )
        if settings.dkim_key_file is not None
        else None
    )
    email: Sender = (
        SmtpSender(settings.smtp_url.get_secret_value(), settings.smtp_from, dkim_key=dkim_key)
        if settings.smtp_url is not None
        else dev
    )
    senders: dict[Channel, Sender] = {"email": email, "sms": sms_sender(settings) or dev}
    contact = parseaddr(settings.smtp_from)[1]
    senders["push"] = WebPushSender(
        load_or_create_vapid(settings.data_dir / "keys"),
        f"mailto:{contact}" if contact else settings.public_url,
    )
    if settings.telegram_bot_token is not None:
        senders["telegram"] = TelegramSender(
            settings.telegram_api_url, settings.telegram_bot_token.get_secret_value()
        )
    return senders
