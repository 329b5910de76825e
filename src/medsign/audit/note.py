"""Checkpoints as signed notes: the C2SP ``tlog-checkpoint`` and ``signed-note`` formats
that Go's sumdb, Sigstore's Rekor and other transparency logs publish.

A checkpoint body is three lines — origin, tree size (decimal), root hash (base64) — and
is followed by a blank line and one signature line per key: ``— <name> <base64(key id ||
signature)>``. The key is Ed25519 (RFC 8032), derived from the deployment secret so that
every process of one deployment signs with the same key without another file to share;
its key id is the first 4 bytes of ``SHA-256(name || "\\n" || 0x01 || public key)``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from medsign.domain.tokens import Keyring

KEY_NAME = "medsign-audit"
_ED25519 = b"\x01"  # signature type byte of Ed25519 in C2SP signed-note
_DASH = "\u2014 "  # an em dash and a space start every signature line


@dataclass(frozen=True)
class Checkpoint:
    """What a checkpoint states: the log's origin, size and root hash."""

    origin: str
    tree_size: int
    root_hash: bytes

    def body(self) -> str:
        """The signed text (each line ends in a newline)."""
        root = base64.b64encode(self.root_hash).decode()
        return f"{self.origin}\n{self.tree_size}\n{root}\n"


@dataclass(frozen=True)
class VerifierKey:
    """A public key that checks checkpoint notes (C2SP signed-note verifier key)."""

    name: str
    public: bytes

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        """Read ``<name>+<hex key id>+<base64(0x01 || key)>``; the key id must match."""
        name, sep1, rest = text.strip().partition("+")
        hex_id, sep2, encoded = rest.partition("+")
        if not (name and sep1 and sep2):
            raise NoteError("a verifier key reads <name>+<key id>+<base64 key>")
        try:
            raw = base64.b64decode(encoded, validate=True)
            stated = bytes.fromhex(hex_id)
        except ValueError:
            raise NoteError("the verifier key's id or key is not hex/base64") from None
        if len(raw) != 33 or raw[:1] != _ED25519:
            raise NoteError("only Ed25519 verifier keys (type 0x01, 32 bytes) are known")
        if stated != key_id(name, raw[1:]):
            raise NoteError("the verifier key's id does not match its name and key")
        return cls(name, raw[1:])


class NoteKey:
    """The log's Ed25519 signing key."""

    def __init__(self, private: Ed25519PrivateKey, name: str = KEY_NAME) -> None:
        self._private = private
        self.name = name
        self.public_bytes = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = key_id(name, self.public_bytes)

    @classmethod
    def from_keyring(cls, keyring: Keyring) -> NoteKey:
        """The deployment's log key, derived from its secret."""
        return cls(Ed25519PrivateKey.from_private_bytes(keyring.derive_seed("audit-log-v1")))

    @property
    def verifier(self) -> VerifierKey:
        """The public half, to check notes with."""
        return VerifierKey(self.name, self.public_bytes)

    def verifier_key(self) -> str:
        """The C2SP verifier key string ``<name>+<hex key id>+<base64(0x01 || key)>``."""
        encoded = base64.b64encode(_ED25519 + self.public_bytes).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def sign(self, checkpoint: Checkpoint) -> str:
        """The whole signed note for ``checkpoint``."""
        body = checkpoint.body()
        signature = self._private.sign(body.encode())
        line = base64.b64encode(self.key_id + signature).decode()
        return f"{body}\n{_DASH}{self.name} {line}\n"


def key_id(name: str, public: bytes) -> bytes:
    """The 4-byte key id of an Ed25519 verifier key (C2SP signed-note)."""
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + public).digest()[:4]


class NoteError(ValueError):
    """A note that is malformed or not signed by the expected key."""


def open_note(note: str, name: str, public: bytes) -> Checkpoint:
    """Parse a signed checkpoint note and check its signature by ``(name, public)``."""
    body, sep, signatures = note.partition("\n\n")
    if not sep:
        raise NoteError("no blank line between the checkpoint and its signatures")
    body += "\n"
    lines = body.split("\n")
    if len(lines) < 4:
        raise NoteError("a checkpoint has an origin, a size and a root hash")
    try:
        size = int(lines[1])
        root = base64.b64decode(lines[2], validate=True)
    except ValueError as exc:
        raise NoteError(f"unreadable checkpoint: {exc}") from None
    want = key_id(name, public)
    for line in signatures.splitlines():
        if not line.startswith(_DASH):
            continue
        signer, _, encoded = line[len(_DASH) :].partition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError:
            continue
        if signer != name or raw[:4] != want:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(raw[4:], body.encode())
        except InvalidSignature:
            raise NoteError("the checkpoint's signature does not verify") from None
        return Checkpoint(lines[0], size, root)
    raise NoteError(f"the checkpoint carries no signature by {name}")


@dataclass(frozen=True)
class LogIdentity:
    """Who signs the log's checkpoints: the note key and the log's origin line."""

    key: NoteKey
    origin: str
