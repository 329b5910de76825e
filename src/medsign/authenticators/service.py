"""Registering a device's platform authenticator and checking its approval assertions.

W3C Web Authentication Level 2: registration (§7.1) and assertion (§7.2) are verified by
the ``webauthn`` package; this module adds what is medsign's own:

- the registration challenge is stateless: 8 bytes of issue time and a keyed MAC over
  the device and that time, valid for :data:`REGISTRATION_WINDOW`;
- an approval's challenge is not issued by the server but is the SHA-256 of what is
  approved (:func:`approval_challenge`), so the user-verified assertion is bound to
  exactly those bytes; a batch hashes the ordered list of its items' hashes;
- the signature counter (§6.1.1) moves by compare-and-set, so one assertion sent twice
  at once is accepted at most once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from webauthn import (
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorAttachment,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from medsign.authenticators.models import AuthenticatorCredential
from medsign.domain.tokens import Keyring
from medsign.errors import AuthenticatorRejected, Conflict

REGISTRATION_WINDOW = timedelta(minutes=5)
_MAC_BYTES = 24
# What the webauthn package raises on malformed input besides its own exceptions.
_MALFORMED = (WebAuthnException, ValueError, KeyError, TypeError)


@dataclass(frozen=True)
class RelyingParty:
    """The relying party: its id is the public URL's host, its origin the URL's origin
    (WebAuthn §5.1.3 step 7, §13.4.9)."""

    id: str
    origin: str
    name: str = "medsign"

    @classmethod
    def of(cls, public_url: str) -> RelyingParty:
        """The relying party of a deployment reached at ``public_url``."""
        parts = urlsplit(public_url)
        return cls(id=parts.hostname or "localhost", origin=f"{parts.scheme}://{parts.netloc}")


def approval_challenge(to_sign: Sequence[bytes], *, batch: bool) -> bytes:
    """The challenge an approval's assertion must carry: SHA-256 of the one ``to_sign``,
    or for a batch SHA-256 over the ordered concatenation of each item's SHA-256."""
    if not batch:
        if len(to_sign) != 1:
            raise ValueError("a single approval covers exactly one item")
        return hashlib.sha256(to_sign[0]).digest()
    return hashlib.sha256(b"".join(hashlib.sha256(item).digest() for item in to_sign)).digest()


def _registration_mac(keyring: Keyring, device_id: str, issued: bytes) -> bytes:
    return bytes.fromhex(keyring.hash("webauthn-registration", f"{device_id}:{issued.hex()}"))[
        :_MAC_BYTES
    ]


def _registration_challenge(keyring: Keyring, device_id: str, now: datetime) -> bytes:
    issued = int(now.timestamp()).to_bytes(8, "big")
    return issued + _registration_mac(keyring, device_id, issued)


def _check_registration_challenge(
    keyring: Keyring, device_id: str, challenge: bytes, now: datetime
) -> None:
    issued, mac = challenge[:8], challenge[8:]
    if len(challenge) != 8 + _MAC_BYTES or not hmac.compare_digest(
        mac, _registration_mac(keyring, device_id, issued)
    ):
        raise AuthenticatorRejected("The registration was not started by this device.")
    age = now.timestamp() - int.from_bytes(issued, "big")
    if not 0 <= age <= REGISTRATION_WINDOW.total_seconds():
        raise AuthenticatorRejected(
            "The registration took too long. Start it again from the app.", reason="expired"
        )


def credentials_of(session: Session, device_id: str) -> list[AuthenticatorCredential]:
    """The device's registered credentials, oldest first."""
    return list(
        session.scalars(
            select(AuthenticatorCredential)
            .where(AuthenticatorCredential.device_id == device_id)
            .order_by(AuthenticatorCredential.created_at)
        )
    )


def registration_options(
    session: Session,
    keyring: Keyring,
    rp: RelyingParty,
    *,
    device_id: str,
    user_name: str,
    now: datetime,
) -> dict[str, Any]:
    """``PublicKeyCredentialCreationOptions`` as JSON (WebAuthn §5.4): a platform
    authenticator, user verification required, no attestation, the device's existing
    credentials excluded."""
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_name=user_name,
        user_id=hashlib.sha256(device_id.encode()).digest()[:16],
        challenge=_registration_challenge(keyring, device_id, now),
        timeout=120_000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            authenticator_attachment=AuthenticatorAttachment.PLATFORM,
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=c.credential_id)
            for c in credentials_of(session, device_id)
        ],
    )
    parsed: dict[str, Any] = json.loads(options_to_json(options))
    return parsed


@dataclass(frozen=True)
class Registered:
    """A kept credential, and which existing credential confirmed it (None for the
    device's first authenticator)."""

    credential: AuthenticatorCredential
    confirmed_by: dict[str, Any] | None


def register(
    session: Session,
    keyring: Keyring,
    rp: RelyingParty,
    *,
    device_id: str,
    organization_id: str,
    credential: dict[str, Any],
    now: datetime,
    assertion: dict[str, Any] | None = None,
) -> Registered:
    """Verify a registration response (WebAuthn §7.1, user verification required) and
    keep its credential for the device.

    A device that already has an authenticator adds another only with a user-verified
    assertion from one it has (WebAuthn §7.2) whose challenge is this registration's
    challenge: whoever holds only the device token (a copied token, a script in the
    browser profile) cannot swap in an authenticator of their own and approve with it.
    """
    try:
        parsed = parse_registration_credential_json(credential)
        challenge = parse_client_data_json(parsed.response.client_data_json).challenge
        _check_registration_challenge(keyring, device_id, challenge, now)
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            require_user_verification=True,
        )
    except _MALFORMED as exc:
        raise AuthenticatorRejected(
            f"The authenticator's registration did not verify: {exc}", reason="invalid"
        ) from exc
    existing = credentials_of(session, device_id)
    if any(c.credential_id == verified.credential_id for c in existing):
        raise Conflict("This authenticator is already registered.")
    confirmed_by = None
    if existing:
        if assertion is None:
            raise AuthenticatorRejected(
                "This device already has an authenticator: adding another needs a "
                "confirmation from the one it has (fingerprint, face or PIN).",
                reason="missing",
            )
        confirmed_by = check_assertion(
            session, rp, device_id=device_id, challenge=challenge, assertion=assertion, now=now
        )
    row = AuthenticatorCredential(
        device_id=device_id,
        organization_id=organization_id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=verified.aaguid,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        raise Conflict("This authenticator is already registered.") from exc
    return Registered(row, confirmed_by)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def check_assertion(
    session: Session,
    rp: RelyingParty,
    *,
    device_id: str,
    challenge: bytes,
    assertion: dict[str, Any] | None,
    now: datetime,
) -> dict[str, Any] | None:
    """Check an approval's assertion against the device's credentials; return what goes
    into the signature evidence, or None for a device without a registered authenticator.

    Refused (:class:`AuthenticatorRejected`): a device with an authenticator that sent
    none; an unknown credential; another challenge (so another document or batch);
    another origin or relying party; no user verification (WebAuthn §7.2 steps 11-17);
    a counter that did not move on (§7.2 step 21), which is also how a replayed
    assertion is caught, even when two copies arrive at the same moment.
    """
    registered = credentials_of(session, device_id)
    if not registered:
        return None
    if assertion is None:
        raise AuthenticatorRejected(
            "This device confirms approvals with its authenticator (fingerprint, face or "
            "PIN): the approval must carry the authenticator's assertion.",
            reason="missing",
        )
    try:
        parsed = parse_authentication_credential_json(assertion)
    except _MALFORMED as exc:
        raise AuthenticatorRejected(f"The assertion is malformed: {exc}", reason="invalid") from exc
    found = next((c for c in registered if c.credential_id == parsed.raw_id), None)
    if found is None:
        raise AuthenticatorRejected(
            "The assertion comes from an authenticator not registered for this device.",
            reason="unknown-credential",
        )
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=found.public_key,
            credential_current_sign_count=found.sign_count,
            require_user_verification=True,
        )
    except _MALFORMED as exc:
        reason = "replayed" if "sign count" in str(exc) else "invalid"
        raise AuthenticatorRejected(
            f"The authenticator's assertion did not verify: {exc}", reason=reason
        ) from exc
    moved = session.execute(
        update(AuthenticatorCredential)
        .where(
            AuthenticatorCredential.id == found.id,
            AuthenticatorCredential.sign_count == found.sign_count,
        )
        .values(sign_count=verified.new_sign_count, last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise AuthenticatorRejected(
            "This assertion was already used for another approval.", reason="replayed"
        )
    response = parsed.response
    return {
        "credential_id": bytes_to_base64url(found.credential_id),
        "public_key_cose": _b64(found.public_key),
        "aaguid": found.aaguid,
        "rp_id": rp.id,
        "origin": rp.origin,
        "challenge_sha256": challenge.hex(),
        "sign_count": verified.new_sign_count,
        "user_verified": verified.user_verified,
        "client_data_json": _b64(response.client_data_json),
        "authenticator_data": _b64(response.authenticator_data),
        "signature": _b64(response.signature),
    }


def credential_ids(session: Session, device_id: str) -> list[str]:
    """base64url ids of the device's credentials (the ``allowCredentials`` list)."""
    return [bytes_to_base64url(c.credential_id) for c in credentials_of(session, device_id)]
