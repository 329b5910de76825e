"""What an SMS provider's delivery report says, whichever provider sent it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SmsReport:
    """A final delivery report: the provider's message id, delivered or not, and why."""

    provider_ref: str
    delivered: bool
    detail: str
