"""Contact formats: E.164 phone numbers (ITU-T E.164) and email addresses (RFC 5322),
and masking for evidence and logs (personal data stays minimal)."""

from __future__ import annotations

import re

from medsign.errors import InvalidInput

_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_EMAIL = re.compile(
    r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)


def normalize_phone(value: str) -> str:
    """Return the phone in E.164 form (``+`` and digits); separators are dropped."""
    compact = re.sub(r"[\s\-().]", "", value)
    if not _E164.match(compact):
        raise InvalidInput(
            f"“{value}” is not a phone number in international format, e.g. +79991234567.",
            field="phone",
        )
    return compact


def normalize_email(value: str) -> str:
    """Return the email trimmed, with a lower-cased domain; reject malformed addresses."""
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise InvalidInput(f"“{value}” is not a valid email address.", field="email")
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def mask_phone(phone: str) -> str:
    """``+79991234567`` -> ``+7999***4567``."""
    return phone[:5] + "***" + phone[-4:] if len(phone) > 9 else "***"


def mask_email(email: str) -> str:
    """``maria.ivanova@example.com`` -> ``m***a@example.com``."""
    local, _, domain = email.rpartition("@")
    shown = local[0] + "***" + local[-1] if len(local) > 2 else local[:1] + "***"
    return f"{shown}@{domain}"
