"""What outgoing links and messages take from an organization's brand: the base of its
links (its custom domain, else ``MEDSIGN_PUBLIC_URL``) and the sender's display name."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from medsign.branding.models import Branding


def base_url(session: Session, organization_id: str, public_url: str) -> str:
    """Where the organization's links point: its custom domain (with the public URL's
    scheme) when set, else ``MEDSIGN_PUBLIC_URL``; no trailing slash."""
    cache: dict[str, str | None] = session.info.setdefault("custom_domains", {})
    if organization_id not in cache:  # a list of envelopes asks once per transaction
        cache[organization_id] = session.scalar(
            select(Branding.custom_domain).where(Branding.organization_id == organization_id)
        )
    domain = cache[organization_id]
    if not domain:
        return public_url.rstrip("/")
    return f"{urlsplit(public_url).scheme or 'https'}://{domain}"


def sender_name(session: Session, organization_id: str) -> str:
    """The display name messages of the organization go out under ("" for the default):
    the one source of the e-mail From phrase and the SMS sender of every message an
    organization sends, direct (signing, codes, links) or queued (rules, reminders)."""
    cache: dict[str, str] = session.info.setdefault("sender_names", {})
    if organization_id not in cache:  # a batch of queued messages asks once per transaction
        cache[organization_id] = (
            session.scalar(
                select(Branding.sender_name).where(Branding.organization_id == organization_id)
            )
            or ""
        )
    return cache[organization_id]


def block_logo(session: Session, organization_id: str) -> tuple[bytes, int, int] | None:
    """The JPEG logo for signature blocks with its pixel size, or None."""
    data = session.scalar(
        select(Branding.logo_jpeg).where(Branding.organization_id == organization_id)
    )
    if data is None:
        return None
    with Image.open(io.BytesIO(data)) as image:  # medsign's own JPEG: the header suffices
        width, height = image.size
    return data, width, height
