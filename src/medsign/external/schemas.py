"""Request and response shapes of the external-signature and CSC endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class CscServiceIn(BaseModel):
    """``POST /api/v1/csc-services``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    base_url: str = Field(
        max_length=500,
        description="The part before /csc/{version}/ in the service's endpoint URLs.",
    )
    api_version: Literal["v1", "v2"] = "v2"
    auth: Literal["none", "bearer", "oauth2"] = Field(
        default="oauth2",
        description="none; bearer (`secret` is an access token); oauth2 (client "
        "credentials at {base_url}/csc/{version}/oauth2/token with `client_id`, `secret`).",
    )
    client_id: str | None = Field(default=None, max_length=200)
    secret: str | None = Field(default=None, max_length=4000)


class CscServiceOut(BaseModel):
    """A registered CSC service (the secret is never shown)."""

    id: str
    name: str
    base_url: str
    api_version: str
    auth: str
    service_name: str | None = Field(default=None, description="The name its info answer gave.")
    created_at: datetime


class CscServiceList(BaseModel):
    """Every CSC service of the organization."""

    items: list[CscServiceOut]


class CscSignIn(BaseModel):
    """``POST /api/v1/envelopes/{id}/signers/{signer_id}/external/csc``."""

    model_config = ConfigDict(extra="forbid")

    service_id: str = Field(max_length=36)
    credential_id: str = Field(min_length=1, max_length=500)
    pin: str | None = Field(
        default=None, max_length=100, description="The credential's PIN, when it needs one."
    )
    otp: str | None = Field(
        default=None, max_length=100, description="A one-time password, when it needs one."
    )
