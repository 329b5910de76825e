"""Remote signing services (CSC API) an organization registered (migration 0018)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from medsign.db.base import Base, UTCDateTime, new_id, utcnow


class CscService(Base):
    """A trust service provider's remote signing service (Cloud Signature Consortium
    API, https://cloudsignatureconsortium.org), reached at ``base_url``."""

    __tablename__ = "csc_services"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    base_url: Mapped[str] = mapped_column(String(500))
    api_version: Mapped[str] = mapped_column(String(4))  # "v1" or "v2": the URL path part
    # "none", "bearer" (a fixed access token) or "oauth2" (client credentials grant).
    auth: Mapped[str] = mapped_column(String(10))
    client_id: Mapped[str | None] = mapped_column(String(200))
    # The access token or client secret, AES-256-GCM under the deployment secret
    # (medsign.identity.secretbox, associated data "csc:<id>").
    secret_enc: Mapped[str | None] = mapped_column(Text)
    info: Mapped[str] = mapped_column(Text)  # the service's info answer (JSON), at registration
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
