"""C2SP verifier keys: what ``medsign audit verify --previous-key`` reads."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from medsign.audit.note import Checkpoint, NoteError, NoteKey, VerifierKey, open_note


def test_a_published_verifier_key_opens_notes_of_its_key() -> None:
    key = NoteKey(Ed25519PrivateKey.generate())
    parsed = VerifierKey.parse(key.verifier_key())
    assert parsed == key.verifier
    note = key.sign(Checkpoint("example.org/audit", 3, b"\x01" * 32))
    assert open_note(note, parsed.name, parsed.public).tree_size == 3


@pytest.mark.parametrize(
    "mangle",
    [
        lambda k: k.replace("+", "-"),  # not three parts
        lambda k: "other" + k[k.index("+") :],  # the id was made for another name
        lambda k: k[:-4] + "AAAA",  # another key under the same id
        lambda k: k.rsplit("+", 1)[0] + "+notbase64!",
    ],
)
def test_a_mangled_verifier_key_is_refused(mangle: Callable[[str], str]) -> None:
    text = NoteKey(Ed25519PrivateKey.generate()).verifier_key()
    with pytest.raises(NoteError):
        VerifierKey.parse(mangle(text))
