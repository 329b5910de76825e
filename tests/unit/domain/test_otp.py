"""Code expiry, lockout and resend limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from medsign.domain.otp import (
    ChallengeState,
    OtpRules,
    ascii_digits,
    check_can_send,
    check_challenge_usable,
    wrong_code_error,
)
from medsign.errors import CodeRejected, TooManyRequests

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RULES = OtpRules()


def test_fresh_code_is_usable() -> None:
    check_challenge_usable(RULES, ChallengeState(T0, 0, False), T0 + timedelta(minutes=9))


def test_code_expires_after_ten_minutes() -> None:
    with pytest.raises(CodeRejected) as err:
        check_challenge_usable(RULES, ChallengeState(T0, 0, False), T0 + timedelta(minutes=10))
    assert err.value.extra["reason"] == "expired"
    assert "Send code" in err.value.detail


def test_code_locks_after_five_wrong_tries() -> None:
    with pytest.raises(CodeRejected) as err:
        check_challenge_usable(RULES, ChallengeState(T0, 5, False), T0)
    assert err.value.extra["reason"] == "locked"


def test_used_or_missing_code_is_refused() -> None:
    for state in (None, ChallengeState(T0, 0, True)):
        with pytest.raises(CodeRejected) as err:
            check_challenge_usable(RULES, state, T0)
        assert err.value.extra["reason"] == "no-code"


def test_wrong_code_says_how_many_tries_remain() -> None:
    assert "4 tries left" in wrong_code_error(RULES, 1).detail
    assert wrong_code_error(RULES, 5).extra["reason"] == "locked"


def test_resend_waits_for_the_interval() -> None:
    check_can_send(RULES, 0, None, T0)
    with pytest.raises(TooManyRequests) as err:
        check_can_send(RULES, 1, T0, T0 + timedelta(seconds=10))
    assert err.value.retry_after == 20
    check_can_send(RULES, 1, T0, T0 + timedelta(seconds=30))


def test_resend_count_is_capped() -> None:
    with pytest.raises(TooManyRequests):
        check_can_send(RULES, 5, T0, T0 + timedelta(hours=1))


def test_codes_typed_on_persian_or_arabic_keyboards_are_digits() -> None:
    assert ascii_digits(" ۱۲۳ ۴۵۶ ") == "123456"  # Extended Arabic-Indic (fa)
    assert ascii_digits("١٢٣-٤٥٦") == "123456"  # Arabic-Indic
    assert ascii_digits("12 34\u00a056") == "123456"
    assert ascii_digits("12a") == "12a"  # anything else stays, to be refused
