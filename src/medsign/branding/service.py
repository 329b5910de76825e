"""Reading and changing an organization's brand; the base URL of its links.

Custom domains: the organization points a host name at medsign (DNS and TLS are the
operator's side, docs/branding.md); links sent for that organization use it instead of
``MEDSIGN_PUBLIC_URL``, and requests arriving with that ``Host`` (RFC 9110 §7.2) are
served as usual, showing the organization's brand where a page has no other context.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.branding.colors import checked_brand_color
from medsign.branding.logo import prepare_logo
from medsign.branding.models import Branding
from medsign.branding.schemas import BrandChange, BrandView
from medsign.errors import Conflict, Forbidden, InvalidInput, NotFound
from medsign.organizations.models import Organization
from medsign.staff.schemas import Actor

# RFC 1035 §2.3.1 labels (letters, digits, inner hyphens), as RFC 1123 §2.1 relaxes them.
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# Display names go into an e-mail header (RFC 5322 §3.4) and an SMS sender field.
_SENDER = re.compile(r"[^\x00-\x1f\x7f<>\"\\@]{1,64}")


def _view(org: Organization, row: Branding | None) -> BrandView:
    if row is None:
        return BrandView(org.id, org.name)
    return BrandView(
        organization_id=org.id,
        organization_name=org.name,
        primary_color=row.primary_color,
        accent_color=row.accent_color,
        sender_name=row.sender_name,
        custom_domain=row.custom_domain,
        has_logo=row.logo_png is not None,
        logo_width=row.logo_width,
        logo_height=row.logo_height,
        version=row.version,
    )


def brand_of(session: Session, organization_id: str) -> BrandView:
    """The organization's brand (its name alone when nothing was set)."""
    org = session.get(Organization, organization_id)
    if org is None:
        raise NotFound("No such organization.")
    return _view(org, session.get(Branding, organization_id))


def brand_for_host(session: Session, host: str | None) -> BrandView | None:
    """The brand of the organization whose custom domain ``host`` is (port ignored)."""
    name = (host or "").rsplit(":", 1)[0].strip().lower().rstrip(".")
    if not name:
        return None
    row = session.scalar(select(Branding).where(Branding.custom_domain == name))
    if row is None:
        return None
    org = session.get(Organization, row.organization_id)
    return None if org is None else _view(org, row)


def logo_bytes(session: Session, organization_id: str, kind: str = "png") -> bytes | None:
    """The stored logo (``png`` for pages, ``jpeg`` for signature blocks)."""
    column = Branding.logo_png if kind == "png" else Branding.logo_jpeg
    return session.scalar(select(column).where(Branding.organization_id == organization_id))


def check_domain(value: str, public_url: str) -> str | None:
    """A host name the organization may use for links, lower-cased (IDNA for non-ASCII);
    empty -> None. Addresses, ports, schemes and medsign's own host are refused."""
    text = value.strip().lower().rstrip(".")
    if not text:
        return None
    try:
        name = text.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InvalidInput("The custom domain is not a valid host name.") from exc
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        raise InvalidInput("The custom domain must be a host name, not an IP address.")
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(x) for x in labels):
        raise InvalidInput(
            "The custom domain must be a host name like sign.clinic.example "
            "(no scheme, port or path)."
        )
    if name == (urlsplit(public_url).hostname or ""):
        raise InvalidInput("The custom domain must differ from medsign's own address.")
    return name


def check_sender(value: str) -> str | None:
    """A display name for messages, or None when empty."""
    text = " ".join(value.split())
    if not text:
        return None
    if not _SENDER.fullmatch(text):
        raise InvalidInput('The sender name may have up to 64 characters, without < > " \\ or @.')
    return text


def save_brand(
    session: Session, actor: Actor, change: BrandChange, *, public_url: str, now: datetime
) -> BrandView:
    """Apply a brand change for the actor's organization (whole organization's staff
    only); every value is checked before anything is written, and it is audited."""
    if actor.branch_id is not None:
        raise Forbidden("Only staff of the whole organization can change its brand.")
    primary = (
        checked_brand_color(change.primary_color, "primary colour")
        if (change.primary_color.strip())
        else None
    )
    accent = (
        checked_brand_color(change.accent_color, "accent colour")
        if (change.accent_color.strip())
        else None
    )
    sender = check_sender(change.sender_name)
    domain = check_domain(change.custom_domain, public_url)
    logo = prepare_logo(change.logo) if change.logo else None
    # One writer per organization at a time: the organization's row is the lock.
    org = session.get(Organization, actor.organization_id, with_for_update=True)
    if org is None:
        raise NotFound("No such organization.")
    if domain is not None:
        taken = session.scalar(
            select(Branding.organization_id).where(
                Branding.custom_domain == domain, Branding.organization_id != org.id
            )
        )
        if taken is not None:
            raise Conflict("This custom domain is already used by another organization.")
    row = session.get(Branding, org.id)
    if row is None:
        row = Branding(organization_id=org.id, version=0, logo_width=0, logo_height=0)
        session.add(row)
    row.primary_color, row.accent_color = primary, accent
    row.sender_name, row.custom_domain = sender, domain
    if logo is not None:
        row.logo_png, row.logo_jpeg = logo.png, logo.jpeg
        row.logo_width, row.logo_height = logo.width, logo.height
    elif change.remove_logo:
        row.logo_png = row.logo_jpeg = None
        row.logo_width = row.logo_height = 0
    row.version = (row.version or 0) + 1
    session.info.pop("custom_domains", None)  # medsign.branding.outbound's cache
    row.updated_at = now
    try:
        session.flush()
    except IntegrityError as exc:  # another organization took the domain just now
        raise Conflict("This custom domain is already used by another organization.") from exc
    record(
        session,
        org.id,
        "branding.changed",
        at=now,
        actor=actor.audit_name,
        data={
            "primary_color": primary,
            "accent_color": accent,
            "custom_domain": domain,
            "logo": "replaced" if logo else ("removed" if change.remove_logo else "kept"),
        },
    )
    return _view(org, row)


def stylesheet(brand: BrandView) -> str:
    """The organization's stylesheet: colours as CSS custom properties (the page's CSP
    allows style-src 'self' only, so no inline styles); values were validated on save."""
    rules = []
    if brand.primary_color:
        rules.append(f"--accent: {brand.primary_color};")
    accent = brand.accent_color or brand.primary_color
    if accent:
        rules.append(f"--brand-accent: {accent};")
    css = ":root { " + " ".join(rules) + " }\n" if rules else ""
    if accent:
        css += ".bar { border-block-end: 4px solid var(--brand-accent); }\n"
        css += "h1 { color: var(--brand-accent); }\n"
    return css
