"""Imports every model so the metadata is complete (for Alembic autogenerate)."""

from medsign.audit.checkpoints import AuditCheckpoint
from medsign.audit.models import AuditEvent, AuditLogCheckpoint, AuditLogHead, AuditTreeNode
from medsign.authenticators.models import AuthenticatorCredential
from medsign.branches.models import Branch
from medsign.branding.models import Branding
from medsign.cabinet.models import (
    AgreementAcceptance,
    AttachCode,
    AttachFailure,
    CabinetAccount,
    CabinetLoginCode,
    CabinetSession,
    CabinetSettings,
    PatientLink,
    SharedFile,
)
from medsign.clinicians.models import (
    Clinician,
    ClinicianDevice,
    ClinicianEnrollment,
    DeviceRequest,
)
from medsign.console.models import BulkRow, BulkSend, Conversion, SignerTemplate
from medsign.db.base import Base
from medsign.document_templates.models import DocumentTemplate
from medsign.documents.models import Document
from medsign.envelopes.models import Envelope, EnvelopeVersion, OtpChallenge, Signer
from medsign.events.models import Event
from medsign.idempotency.models import IdempotencyRecord
from medsign.identity.models import IdentityProvider, IdpLogin, PatientIdentity
from medsign.jobs.models import Job
from medsign.notify.models import DevMessage
from medsign.organizations.models import ApiToken, Organization
from medsign.patients.models import EdoAgreement
from medsign.staff.models import StaffMember, StaffSession
from medsign.usage.models import PlanLimit, UsageRecord
from medsign.webhooks.models import WebhookDelivery, WebhookSubscription

__all__ = [
    "AgreementAcceptance",
    "ApiToken",
    "AttachCode",
    "AttachFailure",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditLogCheckpoint",
    "AuditLogHead",
    "AuditTreeNode",
    "AuthenticatorCredential",
    "Base",
    "Branch",
    "Branding",
    "BulkRow",
    "BulkSend",
    "CabinetAccount",
    "CabinetLoginCode",
    "CabinetSession",
    "CabinetSettings",
    "Clinician",
    "ClinicianDevice",
    "ClinicianEnrollment",
    "Conversion",
    "DevMessage",
    "DeviceRequest",
    "Document",
    "DocumentTemplate",
    "EdoAgreement",
    "Envelope",
    "EnvelopeVersion",
    "Event",
    "IdempotencyRecord",
    "IdentityProvider",
    "IdpLogin",
    "Job",
    "Organization",
    "OtpChallenge",
    "PatientIdentity",
    "PatientLink",
    "PlanLimit",
    "SharedFile",
    "Signer",
    "SignerTemplate",
    "StaffMember",
    "StaffSession",
    "UsageRecord",
    "WebhookDelivery",
    "WebhookSubscription",
]
