"""What the rest of medsign needs from a notification channel.

The worker (``medsign.jobs``) hands a :class:`Message` to a :class:`Sender` picked by
settings; every backend is a small module beside this one and has a conformance test
against a real peer (tests/integration/notify/).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Channel = Literal["email", "sms", "push", "telegram"]
CHANNELS: tuple[Channel, ...] = ("push", "telegram", "email", "sms")


@dataclass(frozen=True)
class Message:
    """One notification to one recipient, ready to deliver.

    ``idempotency_key`` is stable per delivery attempt id: a retry of the same job
    reuses it, so the peer (or a human reading headers) can recognise a duplicate.
    """

    channel: Channel
    to: str  # email address (RFC 5322 addr-spec), E.164 phone number, push
    # subscription JSON or Telegram chat id
    subject: str  # email only; "" for sms
    body: str  # plain text, any Unicode (Russian, Persian, ...)
    idempotency_key: str
    # Push only: the token the cabinet's service worker sends back when it showed the
    # notification (the push channel's delivery report, docs/notifications.md).
    receipt: str | None = None
    # The organization's display name (docs/branding.md): the e-mail From's phrase
    # (RFC 5322 §3.4), and the SMS sender where the gateway takes one; "" = default.
    sender_name: str = ""
    # Push only: the page the notification opens when clicked (an absolute URL).
    link: str | None = None


class DeliveryError(Exception):
    """A message could not be delivered.

    ``retryable`` tells the worker whether trying again later may succeed (network
    trouble, a 4xx SMTP reply, a 5xx from the SMS gateway) or not (the peer refused this
    message for good: an unknown mailbox, a malformed phone number, a bad token).
    The detail never contains the recipient, so it is safe to log.
    """

    def __init__(self, detail: str, *, retryable: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retryable = retryable

    def __repr__(self) -> str:
        return f"DeliveryError({self.detail!r}, retryable={self.retryable})"


class Sender(Protocol):
    """A delivery backend for one channel."""

    def send(self, message: Message) -> str | None:
        """Deliver ``message`` or raise :class:`DeliveryError`; return the provider's
        id of the message when it reports delivery later (callbacks match on it)."""
        ...
