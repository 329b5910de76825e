"""One-time code rules: expiry, attempt limit and resend limits (pure logic).

Codes are 6 digits, valid ``ttl`` seconds, locked after ``max_attempts`` wrong tries;
a new code may be requested after ``resend_interval`` seconds, at most ``max_sends``
times per signer.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from medsign.errors import CodeRejected, TooManyRequests


def ascii_digits(typed: str) -> str:
    """``typed`` without spaces and dashes, with every decimal digit as ASCII: a Persian
    or Arabic keyboard types ۱۲۳ or ١٢٣ (Unicode Nd), and the code is still 123."""
    return "".join(
        str(unicodedata.decimal(ch)) if ch.isdecimal() else ch
        for ch in typed.strip()
        if ch not in " -\u00a0"
    )


@dataclass(frozen=True)
class OtpRules:
    """Limits for one-time codes."""

    ttl: timedelta = timedelta(minutes=10)
    max_attempts: int = 5
    resend_interval: timedelta = timedelta(seconds=30)
    max_sends: int = 5
    # Across every link to one phone or email (a clinic's resend renews a signer's
    # allowance, so this is what bounds guessing): at most this many codes per window.
    max_sends_per_contact: int = 20
    contact_window: timedelta = timedelta(hours=24)


def check_contact_cap(
    rules: OtpRules, sent_in_window: int, oldest_in_window: datetime | None, now: datetime
) -> None:
    """Raise TooManyRequests when the contact had its codes for the window, across links.

    ``sent_in_window`` codes went to this phone or email since ``now - contact_window``,
    the oldest of them at ``oldest_in_window``.
    """
    if sent_in_window < rules.max_sends_per_contact:
        return
    frees_at = (oldest_in_window or now) + rules.contact_window
    wait = max(1, math.ceil((frees_at - now).total_seconds()))
    raise TooManyRequests(
        "Too many codes were sent to this phone or email today. "
        f"You can ask for a new one in {math.ceil(wait / 3600)} h, or contact the clinic.",
        retry_after=wait,
    )


def is_locked_out(rules: OtpRules, sends_so_far: int) -> bool:
    """The signer used up their codes: only the clinic's resend renews the allowance."""
    return sends_so_far >= rules.max_sends


def check_can_send(
    rules: OtpRules, sends_so_far: int, last_sent_at: datetime | None, now: datetime
) -> None:
    """Raise TooManyRequests when another code may not be sent now."""
    if is_locked_out(rules, sends_so_far):
        raise TooManyRequests(
            "Too many codes were requested for this document. "
            "Ask the clinic to send you a new link.",
            retry_after=3600,
        )
    if last_sent_at is not None:
        wait = (last_sent_at + rules.resend_interval - now).total_seconds()
        if wait > 0:
            seconds = math.ceil(wait)
            raise TooManyRequests(
                f"A code was sent moments ago. You can ask for a new one in {seconds} s.",
                retry_after=seconds,
            )


@dataclass(frozen=True)
class ChallengeState:
    """What is known of the latest code sent to a signer."""

    sent_at: datetime
    attempts: int
    used: bool


def check_challenge_usable(rules: OtpRules, state: ChallengeState | None, now: datetime) -> None:
    """Raise CodeRejected when no code may be entered now (none, used, expired, locked)."""
    if state is None or state.used:
        raise CodeRejected("No code has been sent yet. Press “Send code” first.", reason="no-code")
    if now >= state.sent_at + rules.ttl:
        raise CodeRejected(
            "The code has expired. Press “Send code” to get a new one.", reason="expired"
        )
    if state.attempts >= rules.max_attempts:
        raise CodeRejected(
            "Too many wrong codes. Press “Send code” to get a new one.", reason="locked"
        )


def wrong_code_error(rules: OtpRules, attempts_after: int) -> CodeRejected:
    """The error for a wrong code, saying how many tries remain."""
    left = max(rules.max_attempts - attempts_after, 0)
    if left == 0:
        return CodeRejected(
            "The code is wrong and no tries are left. Press “Send code” to get a new one.",
            reason="locked",
        )
    return CodeRejected(
        f"The code is wrong. Check it and try again ({left} tries left).",
        reason="wrong",
        tries_left=left,
    )
