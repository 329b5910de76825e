"""SMS through a small HTTP gateway (contract: docs/sms-gateway.md).

``POST {base_url}/messages`` with JSON ``{"id", "to", "text"}`` and an
``Idempotency-Key`` header equal to ``id``; any 2xx means the gateway took the message.
Status codes are read as RFC 9110 section 15 defines them: 5xx, 408 and 429 (RFC 6585
section 4) are worth retrying, other 4xx mean this request will never succeed.
"""

from __future__ import annotations

import os
import re
import threading

import httpx

from medsign.notify.ports import DeliveryError, Message

# ITU-T E.164: a '+', then at most 15 digits, the first not 0.
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_RETRYABLE_4XX = frozenset({408, 429})


class HttpSmsSender:
    """Delivers ``channel == "sms"`` messages through the HTTP SMS gateway."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 10) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("SMS gateway URL must start with http:// or https://")
        self.url = base_url.rstrip("/") + "/messages"
        self._token = token
        self.timeout = timeout
        self._client: httpx.Client | None = None
        self._client_pid = 0
        self._lock = threading.Lock()

    def _http(self) -> httpx.Client:
        """One client per process, shared by the worker's threads: its connection pool
        keeps connections to the gateway open (a new client per message cost a TLS
        context and a TCP handshake each time)."""
        with self._lock:
            if self._client is None or self._client_pid != os.getpid():
                self._client = httpx.Client(timeout=self.timeout, follow_redirects=False)
                self._client_pid = os.getpid()
            return self._client

    def close(self) -> None:
        """Close the pooled connections (also done when the sender is collected)."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def __del__(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()

    def __repr__(self) -> str:
        return f"HttpSmsSender({self.url!r})"  # no token

    def send(self, message: Message) -> None:
        """Hand the message to the gateway; raise :class:`DeliveryError` if it was not taken."""
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
        try:
            response = self._http().post(self.url, json=payload, headers=headers)
        except httpx.TransportError as exc:
            # Connection refused or reset, DNS failure, timeouts: the message may or may
            # not have arrived; a retry with the same id is deduplicated by the gateway.
            raise DeliveryError(
                f"cannot reach the SMS gateway ({type(exc).__name__})", retryable=True
            ) from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        retryable = status >= 500 or status in _RETRYABLE_4XX
        raise DeliveryError(f"SMS gateway replied {status}", retryable=retryable)
