"""Imports every model so the metadata is complete (for Alembic autogenerate)."""

from medsign.audit.models import AuditEvent
from medsign.db.base import Base
from medsign.documents.models import Document
from medsign.envelopes.models import Envelope, EnvelopeVersion, OtpChallenge, Signer
from medsign.idempotency.models import IdempotencyRecord
from medsign.jobs.models import Job
from medsign.notify.models import DevMessage
from medsign.organizations.models import ApiToken, Organization

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "DevMessage",
    "Document",
    "Envelope",
    "EnvelopeVersion",
    "IdempotencyRecord",
    "Job",
    "Organization",
    "OtpChallenge",
    "Signer",
]
