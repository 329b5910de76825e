"""ESIA's request and answer formats (medsign.identity.esia), without a network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from medsign.identity import esia


def test_timestamp_is_esias_format_in_utc() -> None:
    moscow = timezone(timedelta(hours=3))
    assert esia.timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=moscow)) == (
        "2026.01.02 00:04:05 +0000"
    )
    assert esia.timestamp(datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)) == (
        "2026.12.31 23:59:59 +0000"
    )


def test_signed_text_is_scope_timestamp_client_id_state() -> None:
    text = esia.signed_text("openid snils", "2026.01.02 00:04:05 +0000", "MEDSIGN", "u-u-i-d")
    assert text == b"openid snils2026.01.02 00:04:05 +0000MEDSIGNu-u-i-d"


def test_endpoints_and_issuer_follow_the_base_url() -> None:
    found = esia.endpoints("https://esia-portal1.test.gosuslugi.ru/")
    assert found["authorization_endpoint"] == (
        "https://esia-portal1.test.gosuslugi.ru/aas/oauth2/v2/ac"
    )
    assert found["token_endpoint"] == "https://esia-portal1.test.gosuslugi.ru/aas/oauth2/v3/te"
    assert found["id_token_issuer"] == "http://esia-portal1.test.gosuslugi.ru/"


def test_person_record_becomes_claims() -> None:
    claims = esia.person_claims(
        {
            "lastName": "Иванова",
            "firstName": "Мария",
            "middleName": "Петровна",
            "birthDate": "12.04.1990",
            "snils": "112-233-445 95",
            "trusted": True,
        }
    )
    assert claims == {
        "family_name": "Иванова",
        "given_name": "Мария",
        "middle_name": "Петровна",
        "name": "Иванова Мария Петровна",
        "birthdate": "1990-04-12",
        "snils": "112-233-445 95",
        "trusted": True,
    }
    sparse = esia.person_claims({"birthDate": "1990-04-12", "trusted": "yes"})
    assert sparse == {"trusted": False}  # an unreadable date is no date; only true is true
