"""What callers see of a brand."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BrandView:
    """An organization's brand as pages, messages and signature blocks use it."""

    organization_id: str
    organization_name: str
    primary_color: str | None = None
    accent_color: str | None = None
    sender_name: str | None = None
    custom_domain: str | None = None
    has_logo: bool = False
    logo_width: int = 0
    logo_height: int = 0
    version: int = 0

    @property
    def stylesheet_url(self) -> str:
        """The organization's stylesheet (colours as CSS custom properties)."""
        return f"/brand/{self.organization_id}/style.css?v={self.version}"

    @property
    def logo_url(self) -> str:
        """The organization's logo, served by medsign itself (CSP img-src 'self')."""
        return f"/brand/{self.organization_id}/logo.png?v={self.version}"


@dataclass(frozen=True)
class BrandChange:
    """A form's worth of branding; empty strings clear a value."""

    primary_color: str = ""
    accent_color: str = ""
    sender_name: str = ""
    custom_domain: str = ""
    logo: bytes | None = None
    remove_logo: bool = False
