"""Request and response shapes of ``/api/v1/identity-providers`` (shared/API.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

ESIA_SCOPES = ["openid", "fullname", "birthdate", "snils"]
_PEM = 20_000  # a certificate or key in PEM; chains are not expected


class ClaimsMap(BaseModel):
    """Which claim of the provider carries the name, the birth date and a national id."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(default="name", min_length=1, max_length=100)
    birth_date: str = Field(default="birthdate", min_length=1, max_length=100)
    national_id: str | None = Field(default=None, min_length=1, max_length=100, examples=["snils"])


class EsiaIn(BaseModel):
    """What a provider of kind ``esia`` needs besides the client id (the information
    system's mnemonic): GOST R 34.10-2012 256-bit certificates and key, PEM."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    client_certificate: str = Field(min_length=1, max_length=_PEM)
    client_private_key: str = Field(min_length=1, max_length=_PEM)
    provider_certificate: str = Field(
        min_length=1, max_length=_PEM, description="ESIA's certificate that signs its ID tokens."
    )


class ProviderIn(BaseModel):
    """``POST /api/v1/identity-providers`` body. ``kind`` "oidc" (default) needs the
    ``client_secret``; ``kind`` "esia" takes ESIA's base URL as ``issuer`` and the
    ``esia`` block instead."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["oidc", "esia"] = "oidc"
    name: str = Field(min_length=1, max_length=100, examples=["Gosuslugi"])
    issuer: str = Field(min_length=8, max_length=500, examples=["https://id.example.org"])
    client_id: str = Field(min_length=1, max_length=200)
    client_secret: str | None = Field(default=None, min_length=1, max_length=2000)
    scopes: list[str] = Field(
        default_factory=lambda: ["openid", "profile"], max_length=20, examples=[["openid"]]
    )
    claims: ClaimsMap = Field(default_factory=ClaimsMap)
    esia: EsiaIn | None = None
    cabinet_login: bool = Field(
        default=False,
        description="Offer this provider for logging in to the patient cabinet (docs/cabinet.md).",
    )

    @model_validator(mode="after")
    def _kind_fields(self) -> Self:
        if self.kind == "oidc" and (self.client_secret is None or self.esia is not None):
            raise ValueError("kind oidc needs `client_secret` and takes no `esia` block")
        if self.kind == "esia":
            if self.esia is None:
                raise ValueError("kind esia needs the `esia` block (certificates and key)")
            if "scopes" not in self.model_fields_set:
                self.scopes = list(ESIA_SCOPES)
            if "claims" not in self.model_fields_set:
                self.claims = ClaimsMap(national_id="snils")
        return self


class ProviderCreated(BaseModel):
    """The new provider's id and the redirect URI to register at the provider."""

    id: str
    redirect_uri: str


class ProviderOut(BaseModel):
    """A registered provider (the client secret is never shown)."""

    id: str
    kind: str = "oidc"
    name: str
    issuer: str
    client_id: str
    scopes: list[str]
    claims: ClaimsMap
    redirect_uri: str
    created_at: datetime
    disabled_at: datetime | None = None
    cabinet_login: bool = False


class ProviderPatch(BaseModel):
    """``PATCH /api/v1/identity-providers/{id}`` body: what may change after
    registration."""

    model_config = ConfigDict(extra="forbid")

    cabinet_login: bool | None = Field(
        default=None, description="Offer this provider for logging in to the patient cabinet."
    )


class ProviderList(BaseModel):
    """The organization's providers."""

    items: list[ProviderOut]
