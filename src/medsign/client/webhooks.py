"""Verifying medsign webhooks in the receiver (Standard Webhooks, HMAC-SHA256)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from medsign.webhooks.signing import DEFAULT_TOLERANCE_SECONDS, InvalidSignature, verify

WebhookVerificationError = InvalidSignature


def verify_webhook(
    payload: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> dict[str, Any]:
    """Check the signature of a received webhook and return its JSON body.

    ``payload`` is the raw request body (verify before parsing: re-serialized JSON
    would not match), ``headers`` the request headers (any case), ``secret`` the
    ``whsec_...`` value from ``POST /api/v1/webhooks`` (during a rotation either secret
    verifies). Raises :class:`WebhookVerificationError` when the message is not
    authentic or its timestamp is more than ``tolerance`` seconds away. Deduplicate on
    ``headers["webhook-id"]``: delivery is at least once.
    """
    verify(payload, headers, secret, tolerance=tolerance)
    body = json.loads(payload)
    if not isinstance(body, dict):
        raise WebhookVerificationError("the payload is not a JSON object")
    return body
