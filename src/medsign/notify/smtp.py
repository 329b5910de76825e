"""Email over SMTP (RFC 5321) with smtplib.

``smtp://[user:pass@]host:port`` speaks plain SMTP and upgrades with STARTTLS
(RFC 3207) whenever the server offers it; ``smtps://`` uses implicit TLS from the first
byte (RFC 8314 section 3.3). Reply codes are classified as RFC 5321 section 4.2.1 says:
4yz is a transient failure (retry later), 5yz a permanent one. With a :class:`DkimKey`
every message is signed (RFC 6376, rsa-sha256, relaxed/simple canonicalization) with
dkimpy before it is submitted.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dkim

from medsign.notify.ports import DeliveryError, Message

_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
# RFC 5322 section 3.6.4: the left part of a msg-id is a dot-atom-text; keys that
# fit (ids, uuids) are used as they are, anything else is replaced by its hash.
_SAFE_ID = re.compile(r"[A-Za-z0-9_+=-]+(?:\.[A-Za-z0-9_+=-]+)*")


def message_id_for(idempotency_key: str, domain: str) -> str:
    """The Message-ID header for a key: the same key always gives the same id."""
    if _SAFE_ID.fullmatch(idempotency_key) and len(idempotency_key) <= 128:
        left = idempotency_key
    else:
        left = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    return f"<medsign.{left}@{domain}>"


# RFC 6376 section 5.4.1: From is required; these are the headers a reader relies on.
DKIM_HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"auto-submitted")


@dataclass(frozen=True, repr=False)
class DkimKey:
    """A DKIM signing key: the selector and domain of its DNS TXT record
    (``<selector>._domainkey.<domain>``) and the RSA private key in PEM (RFC 8301:
    at least 1024 bits, 2048 recommended)."""

    selector: str
    domain: str
    private_key: bytes

    @classmethod
    def from_file(cls, path: Path, selector: str, domain: str) -> DkimKey:
        """Read the key file (refuses a file that holds no key)."""
        data = path.read_bytes().strip()
        if not data.startswith(b"-----BEGIN"):
            raise ValueError(f"DKIM key file {path} is empty or not a PEM key")
        return cls(selector, domain, data)

    def sign(self, data: bytes) -> bytes:
        """The ``DKIM-Signature`` header line (with CRLF) to put before ``data``."""
        header: bytes = dkim.sign(
            data,
            self.selector.encode(),
            self.domain.encode(),
            self.private_key,
            canonicalize=(b"relaxed", b"simple"),
            signature_algorithm=b"rsa-sha256",
            include_headers=list(DKIM_HEADERS),
        )
        return header


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SmtpSender:
    """Delivers ``channel == "email"`` messages through one SMTP server."""

    def __init__(
        self,
        url: str,
        from_addr: str,
        timeout: float = 10,
        *,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
        dkim_key: DkimKey | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS:
            raise ValueError("SMTP URL must start with smtp:// or smtps://")
        if not parts.hostname:
            raise ValueError("SMTP URL has no host")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or _DEFAULT_PORTS[parts.scheme]
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else ""
        self.from_addr = from_addr
        self.timeout = timeout
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._local_hostname = local_hostname
        self._dkim = dkim_key
        address = parseaddr(from_addr)[1]
        self._domain = address.rpartition("@")[2] or "medsign.localhost"

    def __repr__(self) -> str:
        scheme = "smtps" if self.implicit_tls else "smtp"
        return f"SmtpSender({scheme}://{self.host}:{self.port})"  # no credentials

    def _from(self, message: Message) -> str:
        """The configured From, with the organization's display name when it has one
        (the address stays medsign's: SPF/DKIM/DMARC are the deployment's)."""
        if not message.sender_name:
            return self.from_addr
        return formataddr((message.sender_name, parseaddr(self.from_addr)[1]))

    def build(self, message: Message) -> EmailMessage:
        """The RFC 5322 message that :meth:`send` would submit."""
        if message.channel != "email":
            raise DeliveryError("SmtpSender only sends email messages", retryable=False)
        try:
            mail = EmailMessage(policy=SMTP_POLICY)
            mail["From"] = self._from(message)
            mail["To"] = message.to
            mail["Subject"] = message.subject  # RFC 2047 encoded when not ASCII
            mail["Date"] = format_datetime(datetime.now(UTC))  # RFC 5322 section 3.3
            mail["Message-ID"] = message_id_for(message.idempotency_key, self._domain)
            mail["Auto-Submitted"] = "auto-generated"  # RFC 3834 section 5
            mail.set_content(message.body, charset="utf-8")
        except (ValueError, TypeError) as exc:  # header injection, malformed address
            raise DeliveryError(f"cannot build the email: {exc}", retryable=False) from exc
        return mail

    def send(self, message: Message) -> None:
        """Submit the message (DKIM-signed when a key is set); raise
        :class:`DeliveryError` when the server says no."""
        mail = self.build(message)
        try:
            self._submit(mail)
        except DeliveryError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted(code for code, _ in exc.recipients.values())
            retryable = all(400 <= code < 500 for code in codes)
            raise DeliveryError(
                f"SMTP server refused the recipient ({', '.join(map(str, codes))})",
                retryable=retryable,
            ) from exc
        except smtplib.SMTPResponseException as exc:
            # RFC 5321 section 4.2.1: 5yz permanent, 4yz transient (and -1: no reply).
            retryable = not 500 <= exc.smtp_code < 600
            raise DeliveryError(
                f"SMTP server replied {exc.smtp_code} ({type(exc).__name__})",
                retryable=retryable,
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            # e.g. AUTH or SMTPUTF8 needed but not offered: configuration, not luck.
            raise DeliveryError(
                f"SMTP server lacks a needed extension: {exc}", retryable=False
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # Refused or dropped connections, timeouts, TLS failures: try again later.
            raise DeliveryError(
                f"cannot reach SMTP server {self.host}:{self.port} ({type(exc).__name__})",
                retryable=True,
            ) from exc

    def _submit(self, mail: EmailMessage) -> None:
        client: smtplib.SMTP
        if self.implicit_tls:
            client = smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self._local_hostname,
                timeout=self.timeout,
                context=self._ssl_context,
            )
        else:
            client = smtplib.SMTP(
                self.host, self.port, local_hostname=self._local_hostname, timeout=self.timeout
            )
        with client:
            tls = self.implicit_tls
            client.ehlo()
            if not tls and client.has_extn("starttls"):
                # RFC 3207: upgrade, then forget what was said before and EHLO again.
                client.starttls(context=self._ssl_context)
                client.ehlo()
                tls = True
            if self._username is not None:
                if not tls and not _is_loopback(self.host):
                    raise DeliveryError(
                        "refusing to send SMTP credentials without TLS", retryable=False
                    )
                client.login(self._username, self._password)
            if self._dkim is None:
                client.send_message(mail)
                return
            data = mail.as_bytes()  # the SMTP policy: CRLF line ends, as signed
            try:
                signature = self._dkim.sign(data)
            except dkim.DKIMException as exc:
                raise DeliveryError(f"cannot DKIM-sign: {exc}", retryable=False) from exc
            to = parseaddr(str(mail["To"]))[1]
            client.sendmail(parseaddr(self.from_addr)[1], [to], signature + data)
