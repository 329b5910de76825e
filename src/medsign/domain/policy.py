"""Signature policy: which methods may sign which document kind.

Defaults follow the law quoted in the seeds (shared/DESIGN.md "Signature levels and
policy"): order 1051n of 12 Nov 2021 (informed consent only via ESIA or a qualified
signature), 63-FZ art. 6 part 2 and art. 9 (a simple signature binds only where the
parties agreed so: the EDO agreement).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from medsign.errors import InvalidInput, PolicyViolation


class DocumentKind(StrEnum):
    """What a document is, which decides how it may be signed."""

    USER_AGREEMENT = "user_agreement"
    EDO_AGREEMENT = "edo_agreement"
    INFORMED_CONSENT = "informed_consent"
    TELEMEDICINE_CONSENT = "telemedicine_consent"
    CONTRACT = "contract"
    INVOICE = "invoice"
    SPECIFICATION = "specification"
    TREATMENT_PLAN = "treatment_plan"
    ACT = "act"
    OTHER = "other"
    PRESCRIPTION = "prescription"
    MEDICAL_RECORD = "medical_record"


class Method(StrEnum):
    """How a signer proves their will."""

    SMS_OTP = "sms_otp"
    EMAIL_OTP = "email_otp"
    CABINET = "cabinet"
    IDP = "idp"
    DEVICE = "device"
    SEAL = "seal"
    EXTERNAL = "external"


class Role(StrEnum):
    """Who a signer is in the envelope."""

    PATIENT = "patient"
    REPRESENTATIVE = "representative"
    CLINIC = "clinic"
    CLINICIAN = "clinician"
    VIEWER = "viewer"


class Relation(StrEnum):
    """On what ground a representative signs for the patient."""

    PARENT = "parent"
    GUARDIAN = "guardian"
    PAYER = "payer"
    PROXY = "proxy"


OTP_METHODS = frozenset({Method.SMS_OTP, Method.EMAIL_OTP, Method.CABINET})
CONTRACT_LIKE = frozenset(
    {
        DocumentKind.CONTRACT,
        DocumentKind.INVOICE,
        DocumentKind.SPECIFICATION,
        DocumentKind.TREATMENT_PLAN,
        DocumentKind.ACT,
        DocumentKind.OTHER,
    }
)
_DEFAULTS: dict[DocumentKind, frozenset[Method]] = {
    DocumentKind.USER_AGREEMENT: OTP_METHODS | {Method.IDP},
    DocumentKind.EDO_AGREEMENT: frozenset({Method.IDP}),
    DocumentKind.INFORMED_CONSENT: frozenset({Method.IDP, Method.EXTERNAL}),
    DocumentKind.TELEMEDICINE_CONSENT: frozenset({Method.IDP, Method.EXTERNAL}),
    DocumentKind.PRESCRIPTION: frozenset({Method.DEVICE}),
    DocumentKind.MEDICAL_RECORD: frozenset({Method.SEAL, Method.EXTERNAL}),
    **{kind: OTP_METHODS | {Method.IDP} for kind in CONTRACT_LIKE},
}
# Methods this release can carry out end to end; the others are refused clearly.
IMPLEMENTED_METHODS = frozenset({Method.SMS_OTP, Method.EMAIL_OTP})


E = TypeVar("E", bound=StrEnum)


def parse_enum(enum: type[E], value: str, field: str) -> E:
    """Parse ``value`` into ``enum`` or raise InvalidInput listing the accepted values."""
    try:
        return enum(value)
    except ValueError:
        accepted = ", ".join(member.value for member in enum)
        raise InvalidInput(
            f"“{value}” is not a known {field}. Use one of: {accepted}.", field=field
        ) from None


@dataclass(frozen=True)
class PolicyContext:
    """Facts about the signer the policy may depend on."""

    has_edo_agreement: bool = False


def allowed_methods(kind: DocumentKind, ctx: PolicyContext) -> frozenset[Method]:
    """Methods that may sign ``kind`` for a signer in ``ctx``."""
    allowed = _DEFAULTS[kind]
    if kind in CONTRACT_LIKE and not ctx.has_edo_agreement:
        allowed = allowed - OTP_METHODS
    return allowed


def check_method(kind: DocumentKind, method: Method, role: Role, ctx: PolicyContext) -> None:
    """Raise PolicyViolation (naming the rule and what would satisfy it) if not allowed."""
    if role is Role.VIEWER:
        return
    allowed = allowed_methods(kind, ctx)
    accepted = sorted(m.value for m in allowed)
    if method not in allowed:
        if kind in CONTRACT_LIKE and method in OTP_METHODS:
            rule = "edo-agreement-required"
            why = (
                f"A {kind.value} may be signed with a one-time code only when the patient "
                "has a valid agreement on electronic signatures (EDO agreement) with the "
                "organization (63-FZ art. 6 part 2, art. 9). Without one, use: "
                + ", ".join(accepted)
                + "."
            )
        else:
            rule = f"{kind.value}-methods"
            why = (
                f"A {kind.value} may not be signed with {method.value}. "
                f"Accepted methods: {', '.join(accepted)}."
            )
        raise PolicyViolation(why, rule=rule, accepted_methods=accepted)
    if method not in IMPLEMENTED_METHODS:
        raise PolicyViolation(
            f"The method {method.value} is not available in this medsign release yet. "
            f"Available now: {', '.join(sorted(m.value for m in IMPLEMENTED_METHODS & allowed))}.",
            rule="method-not-available",
            accepted_methods=sorted(m.value for m in IMPLEMENTED_METHODS & allowed),
        )
