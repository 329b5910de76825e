"""Identity providers of an organization, logins in progress, verified identities."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from medsign.db.base import Base, UTCDateTime, new_id, utcnow


class IdentityProvider(Base):
    """An identity provider an organization's patients may sign through: OpenID
    Connect (``kind`` "oidc") or ESIA, Russia's Gosuslugi login (``kind`` "esia");
    with ``cabinet_login`` the patient cabinet also offers it for logging in."""

    __tablename__ = "identity_providers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default="oidc", server_default="oidc")
    name: Mapped[str] = mapped_column(String(100))
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(200))
    # AES-256-GCM under a key derived from the deployment secret (identity.secretbox).
    client_secret_enc: Mapped[str] = mapped_column(Text)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    # Which claim carries what: {"name", "birth_date", "national_id"} -> claim name.
    claims: Mapped[dict[str, str]] = mapped_column(JSON)
    # The provider's discovery document as fetched at registration (OIDC Discovery §4).
    discovery: Mapped[dict[str, Any]] = mapped_column(JSON)
    # ESIA: the information system's GOST certificate (PEM) and its private key (PEM,
    # sealed like the client secret), and ESIA's certificate that signs its ID tokens.
    client_certificate: Mapped[str | None] = mapped_column(Text)
    client_key_enc: Mapped[str | None] = mapped_column(Text)
    provider_certificate: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cabinet_login: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class IdpLogin(Base):
    """One trip to the provider and back; used once (identity.trip).

    ``purpose`` "sign": a signer's login bound to a document version (``signer_id``,
    ``sha256``); "cabinet_login": a patient logging in to the cabinet; "cabinet_link":
    a logged-in patient (``account_id``, from ``cabinet_session_id``) linking the identity
    to the cabinet. The PKCE
    verifier is derived from the deployment secret and the row id, the ``state`` is
    kept only as its keyed hash, the nonce from ``nonce_salt`` (and, for signing, the
    document and the signer).
    """

    __tablename__ = "idp_logins"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    purpose: Mapped[str] = mapped_column(String(20), default="sign", server_default="sign")
    signer_id: Mapped[str | None] = mapped_column(ForeignKey("signers.id"), index=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("cabinet_accounts.id"), index=True)
    cabinet_session_id: Mapped[str | None] = mapped_column(String(36))
    provider_id: Mapped[str] = mapped_column(ForeignKey("identity_providers.id"), index=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nonce_salt: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str | None] = mapped_column(String(64))  # the document version shown
    lang: Mapped[str] = mapped_column(String(2))  # the page's language, for the way back
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(40))


class PatientIdentity(Base):
    """A patient's identity as a provider vouched for it: what, from whom, when."""

    __tablename__ = "patient_identities"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("identity_providers.id"))
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    claims: Mapped[dict[str, Any]] = mapped_column(JSON)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    envelope_id: Mapped[str | None] = mapped_column(String(36))
