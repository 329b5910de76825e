"""A real SMTP server (aiosmtpd) on loopback that keeps what it receives.

Usage::

    with SmtpTestServer() as server:
        sender = SmtpSender(server.url, "clinic@example.org")
        ...
        mail = server.wait_for(lambda m: m.to == "patient@example.org")
        assert mail.text == "..."

``rcpt_replies`` makes the server answer RCPT TO for an address with a chosen reply
(for example ``"550 5.1.1 No such user"``), so error handling meets real replies.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support.peer import LoopbackPeer
from tests.support.ports import free_port


@dataclass(frozen=True)
class ReceivedEmail:
    """One message as the server got it: the envelope and the parsed RFC 5322 message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes
    authenticated_as: str | None
    over_tls: bool

    @property
    def to(self) -> str:
        """The decoded To header."""
        return str(self.message["To"])

    @property
    def subject(self) -> str:
        """The decoded Subject header (RFC 2047 words decoded)."""
        return str(self.message["Subject"])

    @property
    def message_id(self) -> str:
        """The Message-ID header."""
        return str(self.message["Message-ID"])

    @property
    def text(self) -> str:
        """The text/plain body, decoded from its transfer encoding and charset."""
        part = self.message.get_body(preferencelist=("plain",))
        if part is None:
            raise AssertionError("the message has no text/plain part")
        content = part.get_content()
        assert isinstance(content, str)
        # On the wire every line ends in CRLF (RFC 5322 section 2.3); give back what a
        # mail client would show.
        return content.replace("\r\n", "\n")


class _Handler:
    """aiosmtpd handler: records messages, answers RCPT as configured."""

    def __init__(self, server: SmtpTestServer) -> None:
        self._server = server

    async def handle_RCPT(  # noqa: N802 - aiosmtpd hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = self._server.rcpt_replies.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        parsed = message_from_bytes(raw, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        auth = session.auth_data
        transport = server.transport
        implicit_tls = transport is not None and transport.get_extra_info("ssl_object") is not None
        self._server.record(
            ReceivedEmail(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                message=parsed,
                raw=raw,
                authenticated_as=auth.login.decode() if isinstance(auth, LoginPassword) else None,
                over_tls=session.ssl is not None or implicit_tls,
            )
        )
        return "250 Message accepted for delivery"


class SmtpTestServer(LoopbackPeer):
    """An aiosmtpd ``Controller`` on 127.0.0.1 and a free port.

    ``tls_context`` offers STARTTLS (RFC 3207); ``implicit_tls_context`` makes it an
    smtps server (RFC 8314); ``credentials`` (user, password) enables AUTH and requires it
    (aiosmtpd only offers AUTH over TLS, so combine it with one of the contexts).
    """

    def __init__(
        self,
        *,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls_context: ssl.SSLContext | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = free_port(self.host)
        self.rcpt_replies: dict[str, str] = {}
        self._messages: list[ReceivedEmail] = []
        self._changed = threading.Condition()
        self._credentials = credentials
        kwargs: dict[str, Any] = {}
        if tls_context is not None:
            kwargs["tls_context"] = tls_context
        if credentials is not None:
            kwargs["authenticator"] = self._authenticate
            kwargs["auth_required"] = True
        self.implicit_tls = implicit_tls_context is not None
        self._controller = Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            ssl_context=implicit_tls_context,
            **kwargs,
        )

    @property
    def url(self) -> str:
        """The URL to give to ``SmtpSender`` (without credentials)."""
        scheme = "smtps" if self.implicit_tls else "smtp"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self) -> None:
        """Start listening (returns once the server answers)."""
        self._controller.start()

    def stop(self) -> None:
        """Stop the server and its thread."""
        self._controller.stop()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and self._credentials is not None
            and (auth_data.login.decode(), auth_data.password.decode()) == self._credentials
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def record(self, received: ReceivedEmail) -> None:
        """Add a message (called from the server thread)."""
        with self._changed:
            self._messages.append(received)
            self._changed.notify_all()

    @property
    def messages(self) -> list[ReceivedEmail]:
        """A snapshot of everything received so far, oldest first."""
        with self._changed:
            return list(self._messages)

    def wait_for(
        self, predicate: Callable[[ReceivedEmail], bool] = lambda _: True, timeout: float = 5.0
    ) -> ReceivedEmail:
        """The first received message matching ``predicate``, waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for received in self._messages:
                    if predicate(received):
                        return received
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"no matching email within {timeout} s ({len(self._messages)} received)"
                    )
                self._changed.wait(remaining)
