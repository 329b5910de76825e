"""Request and response shapes of ``/api/v1/identity-providers`` (shared/API.md)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ClaimsMap(BaseModel):
    """Which claim of the provider carries the name, the birth date and a national id."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(default="name", min_length=1, max_length=100)
    birth_date: str = Field(default="birthdate", min_length=1, max_length=100)
    national_id: str | None = Field(default=None, min_length=1, max_length=100, examples=["snils"])


class ProviderIn(BaseModel):
    """``POST /api/v1/identity-providers`` body."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100, examples=["Gosuslugi"])
    issuer: str = Field(min_length=8, max_length=500, examples=["https://id.example.org"])
    client_id: str = Field(min_length=1, max_length=200)
    client_secret: str = Field(min_length=1, max_length=2000)
    scopes: list[str] = Field(
        default_factory=lambda: ["openid", "profile"], max_length=20, examples=[["openid"]]
    )
    claims: ClaimsMap = Field(default_factory=ClaimsMap)


class ProviderCreated(BaseModel):
    """The new provider's id and the redirect URI to register at the provider."""

    id: str
    redirect_uri: str


class ProviderOut(BaseModel):
    """A registered provider (the client secret is never shown)."""

    id: str
    name: str
    issuer: str
    client_id: str
    scopes: list[str]
    claims: ClaimsMap
    redirect_uri: str
    created_at: datetime
    disabled_at: datetime | None = None


class ProviderList(BaseModel):
    """The organization's providers."""

    items: list[ProviderOut]
