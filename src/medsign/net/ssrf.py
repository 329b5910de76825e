"""The SSRF guard: URLs an organization gives medsign to call (webhook endpoints, CSC
signing services) must not reach this server's own network.

A URL whose host is, or resolves to, a loopback, private (RFC 1918,
RFC 4193), link-local (RFC 3927, RFC 4291 — cloud metadata lives there), shared
(RFC 6598), multicast, reserved or unspecified address is refused when it is created
and again at each connection (DNS can change), unless the operator allowed private
targets for that feature (``MEDSIGN_WEBHOOK_ALLOW_PRIVATE``,
``MEDSIGN_CSC_ALLOW_PRIVATE``: tests, on-premises services). Connections go to the
address that was checked (the name is not resolved twice), so DNS rebinding cannot
slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(Exception):
    """The URL may not be called (the message says why)."""


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


@dataclass(frozen=True)
class Rule:
    """Who calls out, and the setting that lets them reach private addresses."""

    purpose: str  # "webhooks", "signing services"
    setting: str  # "MEDSIGN_WEBHOOK_ALLOW_PRIVATE"


WEBHOOKS = Rule("webhooks", "MEDSIGN_WEBHOOK_ALLOW_PRIVATE")


def refusal(host: str, rule: Rule) -> UnsafeUrl:
    """The error for a host that is, or resolves to, a non-public address."""
    return UnsafeUrl(
        f"The host {host!r} resolves to a loopback, private or link-local address, "
        f"which {rule.purpose} may not reach ({rule.setting} allows it)."
    )


def check_addresses(host: str, addresses: tuple[str, ...], rule: Rule) -> None:
    """UnsafeUrl unless every one of ``addresses`` is public."""
    for addr in addresses:
        if not is_public(ipaddress.ip_address(addr.split("%", 1)[0])):
            raise refusal(host, rule)


def check(
    url: str, *, allow_private: bool, require_resolution: bool = True, rule: Rule = WEBHOOKS
) -> Target:
    """Parse, resolve and check ``url``; raise UnsafeUrl when it must not be used.

    With ``require_resolution=False`` (at creation) a host that does not resolve yet is
    accepted: each connection checks again.
    """
    scheme, host, port = parse(url)
    try:
        addresses = resolve(host, port)
    except UnsafeUrl:
        if require_resolution:
            raise
        return Target(scheme, host, port, ())
    if not allow_private:
        check_addresses(host, addresses, rule)
    return Target(scheme, host, port, addresses)
