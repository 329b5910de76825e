"""Shapes of the WebAuthn endpoints under ``/device/v1/webauthn``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class RegistrationIn(BaseModel):
    """What ``navigator.credentials.create()`` returned, as JSON (WebAuthn §5.1,
    ``PublicKeyCredential.toJSON()``: binary members base64url)."""

    credential: dict[str, Any] = Field(description="The RegistrationResponseJSON.")
    assertion: dict[str, Any] | None = Field(
        default=None,
        description=(
            "Required when the device already has an authenticator: the "
            "AuthenticationResponseJSON of one of its registered credentials over this "
            "registration's challenge (the options' `challenge`), user verified."
        ),
    )


class CredentialOut(BaseModel):
    """A registered credential."""

    credential_id: str = Field(description="base64url of the credential id.")
    created_at: str


class AuthenticatorsOut(BaseModel):
    """What a device needs to ask its authenticator for an approval's assertion."""

    rp_id: str
    credentials: list[str] = Field(description="base64url credential ids (allowCredentials).")
