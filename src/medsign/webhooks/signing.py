"""Standard Webhooks signatures (stdlib only, shared by the server and ``medsign.client``).

Spec: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md

- The secret is ``whsec_`` followed by the base64 of 24 to 64 random bytes ("Signature
  scheme", symmetric).
- The signed content is ``{webhook-id}.{webhook-timestamp}.{body}`` where the timestamp
  is integer seconds since the Unix epoch, and the signature is
  ``base64(HMAC-SHA256(secret_bytes, content))``.
- ``webhook-signature`` holds one or more ``v1,<signature>`` separated by spaces; a
  receiver accepts the message when any of them matches (this is how secret rotation
  keeps working during its overlap window).
- Receivers should refuse timestamps too far from their clock (5 minutes by default)
  to limit replay attacks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of secrets, not a secret
DEFAULT_TOLERANCE_SECONDS = 300


class InvalidSignature(Exception):
    """The headers are missing, the timestamp is out of tolerance, or no signature matches."""


def secret_bytes(secret: str) -> bytes:
    """The key bytes of a ``whsec_...`` secret (the prefix is optional)."""
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except ValueError as exc:
        raise ValueError("the webhook secret is not base64 after 'whsec_'") from exc
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64 signature>`` for ``body`` sent as message ``msg_id`` at ``timestamp``."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one ``v1,`` signature per secret, space-separated."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets)


def headers_for(secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for one delivery attempt."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, msg_id, timestamp, body),
    }


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Check a received webhook; raise :class:`InvalidSignature` unless it is authentic.

    ``headers`` may use any case. ``tolerance`` bounds the distance between the
    ``webhook-timestamp`` and ``now`` (seconds); pass ``tolerance=0`` to skip that check.
    """
    data = body.encode() if isinstance(body, str) else body
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id")
    stamp = lower.get("webhook-timestamp")
    given = lower.get("webhook-signature")
    if not (msg_id and stamp and given):
        raise InvalidSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise InvalidSignature("webhook-timestamp is not an integer") from exc
    current = time.time() if now is None else now
    if tolerance and abs(current - timestamp) > tolerance:
        raise InvalidSignature("webhook-timestamp is too far from the current time")
    expected = sign(secret, msg_id, timestamp, data).encode()
    for candidate in given.split():
        if hmac.compare_digest(candidate.encode(), expected):
            return
    raise InvalidSignature("no signature matches the secret")
