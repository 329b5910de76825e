"""Client secrets of identity providers, encrypted at rest.

AES-256-GCM (NIST SP 800-38D) with a 96-bit random nonce, under a key derived from the
deployment secret (``Keyring.derive_seed``, RFC 5869 §2.3); the provider's id is the
associated data, so a secret copied onto another provider's row does not decrypt.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from medsign.domain.tokens import Keyring

_PURPOSE = "idp-client-secret-v1"
_PREFIX = "v1:"


def seal_secret(keyring: Keyring, provider_id: str, secret: str) -> str:
    """Encrypt ``secret`` for the provider ``provider_id``; text safe for a column."""
    nonce = os.urandom(12)
    box = AESGCM(keyring.derive_seed(_PURPOSE)).encrypt(
        nonce, secret.encode(), provider_id.encode()
    )
    return _PREFIX + base64.b64encode(nonce + box).decode()


def open_secret(keyring: Keyring, provider_id: str, sealed: str) -> str:
    """Decrypt what :func:`seal_secret` made; ValueError if it was altered or moved, or
    the deployment secret changed."""
    if not sealed.startswith(_PREFIX):
        raise ValueError("unknown client secret format")
    raw = base64.b64decode(sealed[len(_PREFIX) :])
    try:
        plain = AESGCM(keyring.derive_seed(_PURPOSE)).decrypt(
            raw[:12], raw[12:], provider_id.encode()
        )
    except InvalidTag:
        raise ValueError("the client secret does not decrypt with this deployment's key") from None
    return plain.decode()
