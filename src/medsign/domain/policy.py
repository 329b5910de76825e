"""Signature policy: which methods may sign which document kind.

Defaults follow the law quoted in the seeds (shared/DESIGN.md "Signature levels and
policy"): order 1051n of 12 Nov 2021 (informed consent only via ESIA or a qualified
signature), 63-FZ art. 6 part 2 and art. 9 (a simple signature binds only where the
parties agreed so: the EDO agreement).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
# Signers with these methods get no signing link: the MIS acts through the API (the
# seal; an external qualified signature uploaded or made through a CSC service).
API_ONLY_METHODS = frozenset({Method.SEAL.value, Method.EXTERNAL.value})
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
# Who signs for the clinic: staff countersign with a code or the API applies the
# organization's seal; clinicians use their device key (DESIGN.md "Domain: Signer").
_STAFF_METHODS: dict[Role, frozenset[Method]] = {
    Role.CLINIC: frozenset({Method.SEAL, Method.SMS_OTP, Method.EMAIL_OTP, Method.EXTERNAL}),
    Role.CLINICIAN: frozenset({Method.DEVICE, Method.EXTERNAL}),
}
# Methods this release can carry out end to end; the others are refused clearly.
IMPLEMENTED_METHODS = frozenset(
    {
        Method.SMS_OTP,
        Method.EMAIL_OTP,
        Method.SEAL,
        Method.IDP,
        Method.DEVICE,
        Method.CABINET,
        Method.EXTERNAL,
    }
)
Overrides = Mapping[str, Iterable[str]]


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
    """Facts about the signer and organization the policy depends on."""

    has_edo_agreement: bool = False
    overrides: Overrides | None = None


def allowed_methods(
    kind: DocumentKind, ctx: PolicyContext, role: Role = Role.PATIENT
) -> frozenset[Method]:
    """Methods that may sign ``kind`` for a signer of ``role`` in ``ctx``."""
    if role in _STAFF_METHODS:
        allowed = _STAFF_METHODS[role]
    else:
        allowed = _DEFAULTS[kind] - {Method.SEAL}
        if kind in CONTRACT_LIKE and not ctx.has_edo_agreement:
            allowed = allowed - OTP_METHODS
    if kind is DocumentKind.MEDICAL_RECORD and role is Role.CLINIC:
        allowed = allowed & _DEFAULTS[kind]
    if ctx.overrides and kind.value in ctx.overrides and role not in _STAFF_METHODS:
        # Overrides tighten what patients and representatives may use.
        allowed = allowed & {Method(m) for m in ctx.overrides[kind.value]}
    return frozenset(allowed)


def check_method(kind: DocumentKind, method: Method, role: Role, ctx: PolicyContext) -> None:
    """Raise PolicyViolation (naming the rule and what would satisfy it) if not allowed."""
    if role is Role.VIEWER:
        return
    allowed = allowed_methods(kind, ctx, role)
    accepted = sorted(m.value for m in allowed)
    listed = ", ".join(accepted) or "none"
    if method not in allowed:
        by_law = allowed_methods(kind, PolicyContext(ctx.has_edo_agreement), role)
        if method in by_law:
            rule = "organization-override"
            why = f"This organization does not accept {method.value} for a {kind.value}. "
            why += f"Accepted methods: {listed}."
        elif kind in CONTRACT_LIKE and method in OTP_METHODS and role not in _STAFF_METHODS:
            rule = "edo-agreement-required"
            why = (
                f"A {kind.value} may be signed with a one-time code only when the patient "
                "has a valid agreement on electronic signatures (EDO agreement) with the "
                "organization (63-FZ art. 6 part 2, art. 9). Record one for this patient "
                f"(POST /api/v1/patients/{{mis_id}}/edo-agreement) or use: {listed}."
            )
        else:
            rule = f"{kind.value}-methods"
            who = "" if role in (Role.PATIENT, Role.REPRESENTATIVE) else f" by a {role.value}"
            why = f"A {kind.value} may not be signed{who} with {method.value}. "
            why += f"Accepted methods: {listed}."
        raise PolicyViolation(why, rule=rule, accepted_methods=accepted)
    if method not in IMPLEMENTED_METHODS:
        available = sorted(m.value for m in IMPLEMENTED_METHODS & allowed)
        raise PolicyViolation(
            f"The method {method.value} is not available in this medsign release yet. "
            f"Available now: {', '.join(available) or 'none'}.",
            rule="method-not-available",
            accepted_methods=available,
        )


def validate_overrides(raw: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """Check per-organization overrides of what patients and representatives may use:
    known kinds and methods, and only tightening (an organization may remove methods
    from the defaults, never add one)."""
    clean: dict[str, list[str]] = {}
    for kind_value, methods in raw.items():
        kind = parse_enum(DocumentKind, kind_value, "kind")
        parsed = {parse_enum(Method, m, "method") for m in methods}
        loosened = sorted(m.value for m in parsed - _DEFAULTS[kind])
        if loosened:
            raise PolicyViolation(
                f"An organization may only tighten the policy: {', '.join(loosened)} "
                f"is not allowed for a {kind.value} by default.",
                rule="override-loosens",
                accepted_methods=sorted(m.value for m in _DEFAULTS[kind]),
            )
        clean[kind.value] = sorted(m.value for m in parsed)
    return clean


def policy_matrix(overrides: Overrides | None) -> dict[str, dict[str, list[str]]]:
    """The effective matrix (kind -> with/without EDO agreement -> methods) for display."""
    matrix: dict[str, dict[str, list[str]]] = {}
    for kind in DocumentKind:
        matrix[kind.value] = {
            edo: sorted(
                m.value
                for m in allowed_methods(
                    kind, PolicyContext(has_edo_agreement=edo == "with_edo", overrides=overrides)
                )
            )
            for edo in ("with_edo", "without_edo")
        }
    return matrix
