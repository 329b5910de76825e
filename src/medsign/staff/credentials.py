"""Password hashing (argon2id, RFC 9106) and the TOTP key kept encrypted at rest."""

from __future__ import annotations

import base64
import os
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from medsign.domain.tokens import Keyring
from medsign.errors import InvalidInput

# argon2-cffi's defaults are RFC 9106 §4's second recommended option (t=3, 64 MiB, p=4).
HASHER = PasswordHasher()
MIN_PASSWORD = 10
MAX_PASSWORD = 200
# Verified when the email is unknown, so a login costs the same either way (no oracle
# for which emails have accounts).
_DUMMY = HASHER.hash(secrets.token_hex(16))


def check_password_rules(password: str) -> None:
    """Refuse passwords too short to resist guessing (NIST SP 800-63B §5.1.1.2)."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            f"The password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long.",
            field="password",
        )


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``."""
    return HASHER.hash(password)


def password_matches(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored`` (a missing hash costs the same time)."""
    try:
        return HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def generated_password() -> str:
    """A fresh password for a new account (16 characters, about 96 bits)."""
    return secrets.token_urlsafe(12)


def _aead(keyring: Keyring) -> AESGCM:
    return AESGCM(keyring.derive_seed("staff-totp"))


def seal_totp_secret(keyring: Keyring, staff_id: str, secret: str) -> str:
    """Encrypt a base32 TOTP key (AES-GCM, bound to the staff id) for storage."""
    nonce = os.urandom(12)
    sealed = _aead(keyring).encrypt(nonce, secret.encode(), staff_id.encode())
    return base64.b64encode(nonce + sealed).decode()


def open_totp_secret(keyring: Keyring, staff_id: str, stored: str) -> str:
    """Decrypt what :func:`seal_totp_secret` stored."""
    raw = base64.b64decode(stored)
    return _aead(keyring).decrypt(raw[:12], raw[12:], staff_id.encode()).decode()
