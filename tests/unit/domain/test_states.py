"""Envelope and signer state machines."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medsign.domain.states import (
    EnvelopeStatus,
    SignerStatus,
    envelope_move,
    signer_move,
)
from medsign.errors import Conflict


@pytest.mark.parametrize(
    "target",
    [
        EnvelopeStatus.COMPLETED,
        EnvelopeStatus.DECLINED,
        EnvelopeStatus.EXPIRED,
        EnvelopeStatus.VOIDED,
    ],
)
def test_sent_envelope_can_end_every_way(target: EnvelopeStatus) -> None:
    assert envelope_move(EnvelopeStatus.SENT, target) is target


@pytest.mark.parametrize("current", [s for s in EnvelopeStatus if s.terminal])
@pytest.mark.parametrize("target", list(EnvelopeStatus))
def test_terminal_envelopes_never_move(current: EnvelopeStatus, target: EnvelopeStatus) -> None:
    with pytest.raises(Conflict) as err:
        envelope_move(current, target)
    assert current.value in err.value.detail


def test_signer_path() -> None:
    s = signer_move(SignerStatus.WAITING, SignerStatus.NOTIFIED)
    assert signer_move(s, SignerStatus.SIGNED) is SignerStatus.SIGNED
    with pytest.raises(Conflict):
        signer_move(SignerStatus.SIGNED, SignerStatus.SIGNED)  # double submit
    with pytest.raises(Conflict):
        signer_move(SignerStatus.WAITING, SignerStatus.SIGNED)  # not their turn
    with pytest.raises(Conflict):
        signer_move(SignerStatus.DECLINED, SignerStatus.SIGNED)


@given(st.lists(st.sampled_from(list(EnvelopeStatus)), max_size=8))
def test_random_sequences_never_leave_a_terminal_state(moves: list[EnvelopeStatus]) -> None:
    state = EnvelopeStatus.SENT
    for target in moves:
        before = state
        try:
            state = envelope_move(state, target)
        except Conflict:
            assert before.terminal or target is EnvelopeStatus.SENT
            assert state is before  # a refused move changes nothing
        else:
            assert before is EnvelopeStatus.SENT and state.terminal  # only sent moves on
