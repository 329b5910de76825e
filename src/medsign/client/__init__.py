"""The medsign Python SDK: typed sync and async clients and webhook verification.

::

    from medsign.client import MedsignClient, verify_webhook

    with MedsignClient("https://sign.clinic.example", token) as api:
        doc = api.upload_document(["consent.pdf"], title="Consent", kind="user_agreement")
        env = api.create_envelope(doc["id"], [{"role": "patient", "name": "Maria Ivanova",
                                               "phone": "+79991234567", "method": "sms_otp"}])

Every POST carries an ``Idempotency-Key`` generated once per call, so the automatic
retries (connection errors, 429 with ``Retry-After``, 502/503/504) never do a thing twice.
"""

from medsign.client.core import (
    ApiError,
    AsyncMedsignClient,
    Document,
    Envelope,
    MedsignClient,
    Page,
    Signer,
    Webhook,
)
from medsign.client.webhooks import WebhookVerificationError, verify_webhook

__all__ = [
    "ApiError",
    "AsyncMedsignClient",
    "Document",
    "Envelope",
    "MedsignClient",
    "Page",
    "Signer",
    "Webhook",
    "WebhookVerificationError",
    "verify_webhook",
]
