"""Contact formats and the signature policy."""

from __future__ import annotations

import pytest

from medsign.domain import policy
from medsign.domain.contacts import mask_email, mask_phone, normalize_email, normalize_phone
from medsign.domain.policy import (
    DocumentKind,
    Method,
    PolicyContext,
    Role,
    allowed_methods,
    check_method,
    parse_enum,
)
from medsign.errors import InvalidInput, PolicyViolation


@pytest.mark.parametrize("raw", ["+7 999 123-45-67", "+79991234567", "+98 912 345 6789"])
def test_phones_are_normalized_to_e164(raw: str) -> None:
    assert normalize_phone(raw).startswith("+")


@pytest.mark.parametrize("raw", ["89991234567", "+0123", "phone", "+7999123456789012"])
def test_bad_phones_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_phone(raw)


def test_emails() -> None:
    assert normalize_email(" Maria@Example.COM ") == "Maria@example.com"
    for bad in ("maria", "maria@", "@example.com", "a b@example.com", "maria@example"):
        with pytest.raises(InvalidInput):
            normalize_email(bad)


def test_masking() -> None:
    assert mask_phone("+79991234567") == "+7999***4567"
    assert mask_email("maria@example.com") == "m***a@example.com"


def test_user_agreement_accepts_codes() -> None:
    check_method(DocumentKind.USER_AGREEMENT, Method.SMS_OTP, Role.PATIENT, PolicyContext())


def test_contract_needs_an_edo_agreement_for_codes() -> None:
    with pytest.raises(PolicyViolation) as err:
        check_method(DocumentKind.CONTRACT, Method.SMS_OTP, Role.PATIENT, PolicyContext())
    assert err.value.extra["rule"] == "edo-agreement-required"
    assert "idp" in err.value.extra["accepted_methods"]
    assert Method.SMS_OTP in allowed_methods(
        DocumentKind.CONTRACT, PolicyContext(has_edo_agreement=True)
    )


def test_informed_consent_refuses_codes() -> None:
    with pytest.raises(PolicyViolation) as err:
        check_method(DocumentKind.INFORMED_CONSENT, Method.EMAIL_OTP, Role.PATIENT, PolicyContext())
    assert err.value.extra["rule"] == "informed_consent-methods"


def test_methods_not_yet_available_are_refused_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every method is carried out now; a release without one must still say so clearly.
    check_method(DocumentKind.INFORMED_CONSENT, Method.EXTERNAL, Role.PATIENT, PolicyContext())
    without = policy.IMPLEMENTED_METHODS - {Method.EXTERNAL}
    monkeypatch.setattr(policy, "IMPLEMENTED_METHODS", without)
    with pytest.raises(PolicyViolation) as err:
        check_method(DocumentKind.INFORMED_CONSENT, Method.EXTERNAL, Role.PATIENT, PolicyContext())
    assert err.value.extra["rule"] == "method-not-available"
    assert err.value.extra["accepted_methods"] == ["idp"]


def test_cabinet_signs_user_agreements_and_contracts_only_with_edo() -> None:
    check_method(DocumentKind.USER_AGREEMENT, Method.CABINET, Role.PATIENT, PolicyContext())
    with_edo = PolicyContext(has_edo_agreement=True)
    check_method(DocumentKind.CONTRACT, Method.CABINET, Role.PATIENT, with_edo)
    with pytest.raises(PolicyViolation) as err:
        check_method(DocumentKind.CONTRACT, Method.CABINET, Role.PATIENT, PolicyContext())
    assert err.value.extra["rule"] == "edo-agreement-required"


def test_parse_enum_lists_accepted_values() -> None:
    with pytest.raises(InvalidInput) as err:
        parse_enum(Method, "carrier_pigeon", "method")
    assert "sms_otp" in err.value.detail
