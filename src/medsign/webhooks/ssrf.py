"""The SSRF guard: webhook URLs must not reach this server's own network.

A subscription URL whose host is, or resolves to, a loopback, private (RFC 1918,
RFC 4193), link-local (RFC 3927, RFC 4291 — cloud metadata lives there), shared
(RFC 6598), multicast, reserved or unspecified address is refused when it is created
and again at each delivery (DNS can change), unless the operator set
``MEDSIGN_WEBHOOK_ALLOW_PRIVATE=true``. Deliveries connect to the address that was
checked (the name is not resolved twice), so DNS rebinding cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(Exception):
    """The URL is not acceptable as a webhook endpoint (the message says why)."""


@dataclass(frozen=True)
class Target:
    """A checked URL: its host, port and the resolved addresses that may be used."""

    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def is_public(address: IPAddress) -> bool:
    """True when ``address`` is a globally routable unicast address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public(address.ipv4_mapped)
    return bool(
        address.is_global
        and not (
            address.is_loopback
            or address.is_private
            or address.is_link_local
            or address.is_multicast
            or address.is_reserved
            or address.is_unspecified
        )
    )


def parse(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL without credentials; UnsafeUrl otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl("The URL is malformed.") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("The URL must start with https:// (or http://).")
    if not parts.hostname:
        raise UnsafeUrl("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeUrl("The URL must not carry a user name or password.")
    if parts.fragment:
        raise UnsafeUrl("The URL must not have a #fragment.")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve(host: str, port: int) -> tuple[str, ...]:
    """The addresses ``host`` resolves to (IP literals stand for themselves)."""
    try:
        return (str(ipaddress.ip_address(host)),)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl(f"The host {host!r} cannot be resolved.") from exc
    seen: dict[str, None] = {}
    for info in infos:
        seen[str(info[4][0])] = None
    return tuple(seen)


def check(url: str, *, allow_private: bool, require_resolution: bool = True) -> Target:
    """Parse, resolve and check ``url``; raise UnsafeUrl when it must not be used.

    With ``require_resolution=False`` (at creation) a host that does not resolve yet is
    accepted: delivery checks again.
    """
    scheme, host, port = parse(url)
    try:
        addresses = resolve(host, port)
    except UnsafeUrl:
        if require_resolution:
            raise
        return Target(scheme, host, port, ())
    if not allow_private:
        for addr in addresses:
            if not is_public(ipaddress.ip_address(addr.split("%", 1)[0])):
                raise UnsafeUrl(
                    f"The host {host!r} resolves to a loopback, private or link-local "
                    "address, which webhooks may not reach (MEDSIGN_WEBHOOK_ALLOW_PRIVATE "
                    "allows it)."
                )
    return Target(scheme, host, port, addresses)
