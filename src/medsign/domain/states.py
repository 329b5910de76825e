"""Envelope and signer state machines (shared/DESIGN.md "Domain").

Envelope: sent -> completed | declined | expired | voided (terminal states are final).
Signer:   waiting -> notified -> signed | declined; any unfinished signer becomes
          ``cancelled`` when the envelope ends without them.
"""

from __future__ import annotations

from enum import StrEnum

from medsign.errors import Conflict


class EnvelopeStatus(StrEnum):
    """Where an envelope is in its life."""

    SENT = "sent"
    COMPLETED = "completed"
    DECLINED = "declined"
    EXPIRED = "expired"
    VOIDED = "voided"

    @property
    def terminal(self) -> bool:
        """True for states nothing can leave."""
        return self is not EnvelopeStatus.SENT


class SignerStatus(StrEnum):
    """Where one signer is."""

    WAITING = "waiting"  # an earlier order group has not finished
    NOTIFIED = "notified"  # invited; may sign now
    SIGNED = "signed"
    DECLINED = "declined"
    CANCELLED = "cancelled"  # the envelope ended before this signer acted


_ENVELOPE_MOVES: dict[EnvelopeStatus, frozenset[EnvelopeStatus]] = {
    EnvelopeStatus.SENT: frozenset(
        {
            EnvelopeStatus.COMPLETED,
            EnvelopeStatus.DECLINED,
            EnvelopeStatus.EXPIRED,
            EnvelopeStatus.VOIDED,
        }
    ),
}

_SIGNER_MOVES: dict[SignerStatus, frozenset[SignerStatus]] = {
    SignerStatus.WAITING: frozenset({SignerStatus.NOTIFIED, SignerStatus.CANCELLED}),
    SignerStatus.NOTIFIED: frozenset(
        {SignerStatus.SIGNED, SignerStatus.DECLINED, SignerStatus.CANCELLED}
    ),
}


def envelope_move(current: EnvelopeStatus, target: EnvelopeStatus) -> EnvelopeStatus:
    """Return ``target`` if an envelope may go there from ``current``; else raise Conflict."""
    if target not in _ENVELOPE_MOVES.get(current, frozenset()):
        raise Conflict(
            f"The envelope is {current.value}; it cannot become {target.value}.",
            current_status=current.value,
        )
    return target


def signer_move(current: SignerStatus, target: SignerStatus) -> SignerStatus:
    """Return ``target`` if a signer may go there from ``current``; else raise Conflict."""
    if target not in _SIGNER_MOVES.get(current, frozenset()):
        raise Conflict(
            f"This signer is {current.value}; they cannot become {target.value}.",
            current_status=current.value,
        )
    return target
