"""What every page area (signing page, cabinet, console, invites) does with its cookies
and form tokens the same way."""

from __future__ import annotations

import hmac

from medsign.runtime import Runtime


def secure_cookies(rt: Runtime) -> bool:
    """Whether cookies carry ``Secure`` (RFC 6265 §4.1.2.5): the public URL is https."""
    return rt.settings.public_url.lower().startswith("https://")


def same_secret(a: str, b: str) -> bool:
    """Constant-time comparison of a sent token with the expected one; an empty one never
    matches."""
    # Bytes: compare_digest refuses non-ASCII str, and a stranger may send any text.
    return bool(a) and hmac.compare_digest(a.encode(), b.encode())
