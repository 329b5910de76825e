"""A software WebAuthn authenticator for tests that do not drive a browser.

It speaks the wire format of W3C Web Authentication Level 2 as a browser and a
platform authenticator would produce it: ``clientDataJSON`` (§5.8.1), authenticator
data (§6.1) with the flags and signature counter, an attestation object of format
``none`` (§8.7) with a COSE ES256 key (RFC 9053 §2.1), and ES256 assertion signatures
over ``authenticatorData || SHA-256(clientDataJSON)`` (§6.3.3). The Chromium tests use
Chromium's own virtual authenticator instead.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 4648 §5), as WebAuthn's JSON uses it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftAuthenticator:
    """One credential on one origin; ``counter`` moves on with each assertion."""

    origin: str
    rp_id: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    counter: int = 0
    user_verified: bool = True

    def _client_data(self, kind: str, challenge: bytes, origin: str | None = None) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": b64url(challenge), "origin": origin or self.origin}
        ).encode()

    def _flags(self) -> int:
        return UP | (UV if self.user_verified else 0)

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,  # kty: EC2
                3: -7,  # alg: ES256
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def register(self, options: dict[str, Any]) -> dict[str, Any]:
        """What ``navigator.credentials.create()`` returns for ``options``, as JSON."""
        challenge = _unb64url(options["challenge"])
        rp_hash = hashlib.sha256(options["rp"]["id"].encode()).digest()
        attested = (
            bytes(16)  # aaguid: none
            + len(self.credential_id).to_bytes(2, "big")
            + self.credential_id
            + self._cose_key()
        )
        auth_data = rp_hash + bytes([self._flags() | AT]) + (0).to_bytes(4, "big") + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(self._client_data("webauthn.create", challenge)),
                "attestationObject": b64url(attestation),
            },
            "clientExtensionResults": {},
        }

    def assert_(
        self, challenge: bytes, *, origin: str | None = None, rp_id: str | None = None
    ) -> dict[str, Any]:
        """What ``navigator.credentials.get()`` returns for ``challenge``, as JSON; the
        counter moves on by one."""
        self.counter += 1
        client_data = self._client_data("webauthn.get", challenge, origin)
        auth_data = (
            hashlib.sha256((rp_id or self.rp_id).encode()).digest()
            + bytes([self._flags()])
            + self.counter.to_bytes(4, "big")
        )
        signature = self.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
            },
            "clientExtensionResults": {},
        }
