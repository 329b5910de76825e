"""SMS through a small HTTP gateway (contract: docs/sms-gateway.md).

``POST {base_url}/messages`` with JSON ``{"id", "to", "text"}`` and an
``Idempotency-Key`` header equal to ``id``; any 2xx means the gateway took the message.
Status codes are read as RFC 9110 section 15 defines them: 5xx, 408 and 429 (RFC 6585
section 4) are worth retrying, other 4xx mean this request will never succeed.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import threading
from typing import Any

import httpx

from medsign.notify.ports import DeliveryError, Message

# ITU-T E.164: a '+', then at most 15 digits, the first not 0.
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_RETRYABLE_4XX = frozenset({408, 429})


class _HideSecrets(logging.Filter):
    """Masks registered secrets in the records of the ``httpx`` logger, which logs every
    request's URL at INFO: providers that take their key in the URL path (Kavenegar's
    ``/v1/{API-KEY}/...``, Telegram's ``/bot<token>/...``) would otherwise put it in the
    log (shared/DESIGN.md: secrets never in logs)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            text = record.getMessage()
            for secret in self.secrets:
                text = text.replace(secret, "***")
            record.msg, record.args = text, None
        return True


_hide = _HideSecrets()
logging.getLogger("httpx").addFilter(_hide)


def hide_in_logs(secret: str) -> None:
    """Never let ``secret`` (a key carried in a request URL) reach the HTTP client's log."""
    if secret:
        _hide.secrets.add(secret)


_shared: tuple[int, httpx.Client] | None = None
_shared_lock = threading.Lock()


def shared_client() -> httpx.Client:
    """The process's one HTTP client for channel providers: its pool keeps connections
    to each provider open across messages and senders (a new client per message cost a
    TLS context and a TCP handshake each time). Made again in a forked child; closed
    at exit, so no connection is left to the garbage collector."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared[0] != os.getpid():
            if _shared is None:
                atexit.register(close_shared_client)
            _shared = (os.getpid(), httpx.Client(follow_redirects=False))
        return _shared[1]


def close_shared_client() -> None:
    """Close the shared client's connections (at exit, or after a test)."""
    global _shared
    with _shared_lock:
        if _shared is not None and _shared[0] == os.getpid():
            _shared[1].close()
        _shared = None


class PooledClient:
    """Base of the HTTP channel senders: posts through :func:`shared_client`."""

    def __init__(self, timeout: float = 10) -> None:
        self.timeout = timeout

    def post(self, url: str, *, idempotent: bool, **kwargs: Any) -> httpx.Response:
        """POST, turning transport failures into :class:`DeliveryError`: retryable when
        the request never left (connection refused) or the peer deduplicates it
        (``idempotent``); otherwise the message may have gone out, so it is final."""
        try:
            return shared_client().post(url, timeout=self.timeout, **kwargs)
        except httpx.ConnectError as exc:
            raise DeliveryError(
                f"cannot connect to the provider ({type(exc).__name__})", retryable=True
            ) from exc
        except httpx.TransportError as exc:
            # Reset, timeouts: the message may or may not have arrived; a retry with the
            # same id is deduplicated by a gateway that keeps the contract.
            raise DeliveryError(
                f"no answer from the provider ({type(exc).__name__})", retryable=idempotent
            ) from exc

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        """GET (a lookup: safe to repeat), transport failures as retryable
        :class:`DeliveryError`."""
        try:
            return shared_client().get(url, timeout=self.timeout, **kwargs)
        except httpx.TransportError as exc:
            raise DeliveryError(
                f"no answer from the provider ({type(exc).__name__})", retryable=True
            ) from exc


class HttpSmsSender(PooledClient):
    """Delivers ``channel == "sms"`` messages through the HTTP SMS gateway."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        timeout: float = 10,
        callback_url: str | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("SMS gateway URL must start with http:// or https://")
        super().__init__(timeout)
        self.url = base_url.rstrip("/") + "/messages"
        self._token = token
        self.callback_url = callback_url

    def __repr__(self) -> str:
        return f"HttpSmsSender({self.url!r})"  # no token

    def send(self, message: Message) -> str:
        """Hand the message to the gateway and return its id (delivery reports name it);
        raise :class:`DeliveryError` if it was not taken."""
        if message.channel != "sms":
            raise DeliveryError("HttpSmsSender only sends sms messages", retryable=False)
        if not E164.fullmatch(message.to):
            raise DeliveryError("the phone number is not in E.164 form", retryable=False)
        headers = {"Idempotency-Key": message.idempotency_key, "Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"  # RFC 6750 section 2.1
        payload = {"id": message.idempotency_key, "to": message.to, "text": message.body}
        if message.sender_name:  # optional; gateways that take a sender id use it
            payload["sender"] = message.sender_name
        if self.callback_url:
            payload["callback_url"] = self.callback_url  # delivery reports (contract §DLR)
        response = self.post(self.url, idempotent=True, json=payload, headers=headers)
        status = response.status_code
        if 200 <= status < 300:
            return message.idempotency_key
        retryable = status >= 500 or status in _RETRYABLE_4XX
        raise DeliveryError(f"SMS gateway replied {status}", retryable=retryable)
