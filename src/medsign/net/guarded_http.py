"""aiohttp sessions that connect only where the SSRF guard (:mod:`medsign.net.ssrf`)
allows, at every connection and every redirect hop.

A host name is resolved once by the connector's resolver, the addresses are checked,
and the connector connects to exactly those addresses (pinned: no second lookup, so a
DNS answer that changes between check and connect cannot reach a private address).
An IP literal never reaches a resolver, so a client middleware checks it per request.
"""

from __future__ import annotations

import ipaddress
import socket

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from medsign.net import ssrf


class _PinnedResolver(AbstractResolver):
    """The threaded resolver, refusing answers that include a non-public address."""

    def __init__(self, rule: ssrf.Rule) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._rule = rule

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The addresses of ``host``; UnsafeUrl when any of them is not public."""
        results = await self._inner.resolve(host, port, family)
        ssrf.check_addresses(host, tuple(r["host"] for r in results), self._rule)
        return results

    async def close(self) -> None:
        """Close the inner resolver."""
        await self._inner.close()


def _literal_guard(rule: ssrf.Rule) -> aiohttp.ClientMiddlewareType:
    async def guard(
        request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        host = (request.url.host or "").strip("[]")
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            pass  # a name: the pinned resolver checks it
        else:
            ssrf.check_addresses(host, (host,), rule)
        return await handler(request)

    return guard


def session(*, allow_private: bool, rule: ssrf.Rule) -> aiohttp.ClientSession:
    """A client session whose connections obey the SSRF guard (``allow_private``: any
    address, for tests and on-premises services). UnsafeUrl escapes from requests that
    would reach a forbidden address; nothing is sent to it."""
    if allow_private:
        return aiohttp.ClientSession(trust_env=False)
    connector = aiohttp.TCPConnector(resolver=_PinnedResolver(rule), use_dns_cache=False)
    return aiohttp.ClientSession(
        connector=connector, middlewares=(_literal_guard(rule),), trust_env=False
    )
