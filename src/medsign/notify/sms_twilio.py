"""SMS through Twilio's Programmable Messaging REST API (2010-04-01), as documented at
https://www.twilio.com/docs/messaging/api/message-resource and
https://www.twilio.com/docs/usage/security#validating-requests.

Send: ``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP Basic
auth (Account SID, Auth Token; RFC 7617), form fields ``To``, ``From`` (or
``MessagingServiceSid`` for an ``MG...`` sender), ``Body`` and ``StatusCallback``; a
``201`` carries the message ``sid``. Errors carry Twilio's ``code`` (e.g. 21211 invalid
``To``, 21610 the person replied STOP).

Status callbacks: form-encoded ``MessageSid``, ``MessageStatus`` (queued, sending, sent,
delivered, undelivered, failed), ``ErrorCode``, signed with ``X-Twilio-Signature``:
base64 HMAC-SHA1, keyed with the Auth Token, of the callback URL followed by every POST
parameter's name and value sorted by name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence

from medsign.notify.ports import DeliveryError, Message
from medsign.notify.sms_http import E164, PooledClient
from medsign.notify.sms_reports import SmsReport

# Twilio error codes that no retry will fix (a bad or unreachable number, opted out).
_PERMANENT_CODES = frozenset({21211, 21214, 21408, 21610, 21612, 21614, 30003, 30005, 30006})
_RETRYABLE_STATUS = frozenset({408, 429})
_FINAL_OK = frozenset({"delivered", "read"})
_FINAL_FAILED = frozenset({"undelivered", "failed", "canceled"})


def twilio_signature(auth_token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """``X-Twilio-Signature`` of a POST to ``url`` with form ``params``."""
    data = url + "".join(f"{k}{v}" for k, v in sorted(params, key=lambda kv: (kv[0], kv[1])))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class TwilioSmsSender(PooledClient):
    """Delivers ``channel == "sms"`` messages through Twilio."""

    def __init__(
        self,
        base_url: str,
        account_sid: str,
        auth_token: str,
        sender: str,
        callback_url: str | None,
        timeout: float = 10,
    ) -> None:
        super().__init__(timeout)
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._auth = (account_sid, auth_token)
        self.sender = sender
        self.callback_url = callback_url

    def __repr__(self) -> str:
        return f"TwilioSmsSender({self.url!r})"  # no token

    def send(self, message: Message) -> str:
        """Create the message at Twilio; return its ``sid`` (callbacks name it)."""
        if message.channel != "sms" or not E164.fullmatch(message.to):
            raise DeliveryError("not an SMS to an E.164 number", retryable=False)
        form = {"To": message.to, "Body": message.body}
        form["MessagingServiceSid" if self.sender.startswith("MG") else "From"] = self.sender
        if self.callback_url:
            form["StatusCallback"] = self.callback_url
        # Twilio has no idempotency key for messages: only a refused connection is retried,
        # a lost answer is not (it may have been sent and charged).
        response = self.post(self.url, idempotent=False, data=form, auth=self._auth)
        if response.status_code == 201:
            sid = response.json().get("sid")
            if isinstance(sid, str) and sid:
                return sid
            raise DeliveryError("Twilio answered 201 without a message sid", retryable=False)
        try:
            code = int(response.json().get("code") or 0)
        except (ValueError, AttributeError):
            code = 0
        status = response.status_code
        retryable = (status >= 500 or status in _RETRYABLE_STATUS) and code not in _PERMANENT_CODES
        raise DeliveryError(f"Twilio replied {status} (code {code})", retryable=retryable)


def twilio_report(
    auth_token: str, url: str, form: Sequence[tuple[str, str]], signature: str | None
) -> SmsReport | None:
    """The delivery report in a status callback, None for an interim status; raises
    ValueError when the signature is missing or wrong."""
    expected = twilio_signature(auth_token, url, form)
    if not signature or not hmac.compare_digest(expected, signature):
        raise ValueError("bad X-Twilio-Signature")
    fields: Mapping[str, str] = dict(form)
    sid, status = fields.get("MessageSid", ""), fields.get("MessageStatus", "")
    if not sid:
        raise ValueError("no MessageSid")
    if status in _FINAL_OK:
        return SmsReport(sid, True, status)
    if status in _FINAL_FAILED:
        return SmsReport(sid, False, f"{status} (error {fields.get('ErrorCode') or '-'})")
    return None
