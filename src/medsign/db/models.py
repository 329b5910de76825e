"""Imports every model so the metadata is complete (for Alembic autogenerate)."""

from medsign.appointments.models import Appointment
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
    CabinetIdentity,
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
from medsign.external.models import CscService
from medsign.idempotency.models import IdempotencyRecord
from medsign.identity.models import IdentityProvider, IdpLogin, PatientIdentity
from medsign.invites.models import PatientInvite
from medsign.jobs.models import Job
from medsign.notify.models import (
    DevMessage,
    NotificationDelivery,
    NotificationMessage,
    NotificationSettings,
    PushSubscription,
    TelegramLink,
)
from medsign.organizations.models import ApiToken, Organization, RegisteredSeal
from medsign.patients.models import EdoAgreement
from medsign.records.models import RecordRequest, RecordSettings
from medsign.reminders.models import (
    NotificationFiring,
    NotificationRule,
    NotificationTemplate,
    ScheduledNotification,
)
from medsign.schedule.models import (
    ScheduleDoctor,
    ScheduleService,
    ScheduleSlot,
    SlotHold,
    TelemedicineSettings,
)
from medsign.staff.models import StaffMember, StaffSession
from medsign.usage.models import PlanLimit, UsageRecord
from medsign.webhooks.models import WebhookDelivery, WebhookSubscription

__all__ = [
    "AgreementAcceptance",
    "ApiToken",
    "Appointment",
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
    "CabinetIdentity",
    "CabinetLoginCode",
    "CabinetSession",
    "CabinetSettings",
    "Clinician",
    "ClinicianDevice",
    "ClinicianEnrollment",
    "Conversion",
    "CscService",
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
    "NotificationDelivery",
    "NotificationFiring",
    "NotificationMessage",
    "NotificationRule",
    "NotificationSettings",
    "NotificationTemplate",
    "Organization",
    "OtpChallenge",
    "PatientIdentity",
    "PatientInvite",
    "PatientLink",
    "PlanLimit",
    "PushSubscription",
    "RecordRequest",
    "RecordSettings",
    "RegisteredSeal",
    "ScheduleDoctor",
    "ScheduleService",
    "ScheduleSlot",
    "ScheduledNotification",
    "SharedFile",
    "Signer",
    "SignerTemplate",
    "SlotHold",
    "StaffMember",
    "StaffSession",
    "TelegramLink",
    "TelemedicineSettings",
    "UsageRecord",
    "WebhookDelivery",
    "WebhookSubscription",
]
