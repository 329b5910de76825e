"""Keyed hashes and derived secrets for tokens, links and one-time codes.

Nothing secret is stored in clear (shared/DESIGN.md "Security floor"): API tokens,
link tokens and codes are kept only as HMAC-SHA256 (RFC 2104) under the deployment's
secret key. Link tokens and codes are *derived* from the key and a row id, so outbox
jobs carry ids only and the worker re-derives what it must send.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


class Keyring:
    """Holds the deployment secret and derives/hashes everything keyed by it."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the secret key must be at least 32 bytes")
        self._secret = secret

    def _mac(self, purpose: str, value: str) -> bytes:
        return hmac.new(self._secret, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()

    def hash(self, purpose: str, value: str) -> str:
        """Keyed hash (hex) of ``value`` for lookup/compare; ``purpose`` separates domains."""
        return self._mac(purpose, value).hex()

    def derive_seed(self, purpose: str) -> bytes:
        """32 bytes derived from the secret for ``purpose`` (e.g. a signing key's seed):
        HMAC-SHA-256 as the PRF of a one-block HKDF-Expand (RFC 5869 §2.3)."""
        return self._mac("seed", purpose)

    def link_token(self, signer_id: str, link_version: int) -> str:
        """The signer's link token: 256 bits derived from the key, url-safe base64."""
        raw = self._mac("link", f"{signer_id}:{link_version}")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def otp_code(self, challenge_id: str, digits: int = 6) -> str:
        """The one-time code of a challenge: ``digits`` decimal digits derived from the key."""
        value = int.from_bytes(self._mac("otp", challenge_id)[:8], "big") % (10**digits)
        return f"{value:0{digits}d}"

    def verify_prefix(self, purpose: str, value: str, prefix_hex: str) -> bool:
        """Constant-time check that the keyed hash of ``value`` starts with ``prefix_hex``
        (at least 128 bits)."""
        if len(prefix_hex) < 32:
            return False
        return hmac.compare_digest(self.hash(purpose, value)[: len(prefix_hex)], prefix_hex)

    def verify(self, purpose: str, value: str, expected_hex: str) -> bool:
        """Constant-time check that ``value`` hashes to ``expected_hex``."""
        return hmac.compare_digest(self.hash(purpose, value), expected_hex)


def new_api_token() -> str:
    """A fresh API token (256 bits); shown once, stored only as its keyed hash."""
    return "msk_" + secrets.token_urlsafe(32)


_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I


def verification_code(keyring: Keyring, signer_id: str) -> str:
    """Short code printed in the signature block (8 chars, ~40 bits), e.g. ``7KQ4-M2XD``."""
    raw = int.from_bytes(bytes.fromhex(keyring.hash("verify", signer_id))[:5], "big")
    chars = []
    for _ in range(8):
        raw, idx = divmod(raw, 32)
        chars.append(_CODE_ALPHABET[idx])
    return "".join(chars[:4]) + "-" + "".join(chars[4:])
