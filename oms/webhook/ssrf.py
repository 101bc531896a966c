"""Where a webhook may point: the URL rules, checked at create/update and again at every delivery.

Live: ``https`` only, and every address the host resolves to must be globally routable (no loopback,
private, shared, link-local, multicast, reserved or unspecified address, IPv4-mapped forms included).
Sandbox: ``http`` or ``https``; loopback (``127.0.0.1``, ``localhost``) and private networks are allowed
for local development, but link-local (cloud metadata services), multicast, reserved and unspecified
addresses are still refused.

The delivery worker connects to the very address it checked (``pin``), so a DNS answer that changes
between the check and the connection (DNS rebinding) cannot reach a refused address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from oms.config import Mode

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
MAX_URL_LENGTH = 2048
RESOLVE_TIMEOUT_SECONDS = 5.0
# Metadata services that sit on private (not link-local) addresses.
_METADATA = {ipaddress.ip_address("fd00:ec2::254")}


class UnsafeUrl(ValueError):
    """The URL breaks a rule; the message says which."""


@dataclass(frozen=True)
class Target:
    """A checked URL and the address to connect to."""

    url: str
    scheme: str
    host: str
    port: int
    address: str


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_problem(address: IPAddress, mode: Mode) -> str | None:
    """Why connecting to ``address`` is refused in ``mode``, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_link_local:
        return "a link-local address"
    if address in _METADATA:
        return "a cloud metadata address"
    if mode is Mode.sandbox:
        if address.is_reserved:
            return "a reserved address"
        if address.is_loopback or address.is_private or address.is_global:
            return None
        return "a reserved address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "a reserved address"
    return None


@dataclass(frozen=True)
class ParsedUrl:
    scheme: str
    host: str
    port: int


def parse(url: str, mode: Mode) -> ParsedUrl:
    """The static rules (no DNS): scheme, host, no credentials or fragment."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"must be at most {MAX_URL_LENGTH} characters")
    if any(ch.isspace() for ch in url):
        raise UnsafeUrl("must not contain whitespace")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl("is not a valid URL") from exc
    scheme = parts.scheme.lower()
    allowed = ("https",) if mode is Mode.live else ("https", "http")
    if scheme not in allowed:
        raise UnsafeUrl("must use https" if mode is Mode.live else "must use http or https")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeUrl("must name a host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("must not contain credentials")
    if parts.fragment:
        raise UnsafeUrl("must not contain a fragment")
    return ParsedUrl(scheme, host.lower(), port or (443 if scheme == "https" else 80))


class UrlGuard:
    def __init__(self, mode: Mode, resolver: Resolver | None = None) -> None:
        self.mode = mode
        self.resolver = resolver or system_resolver

    async def check(self, url: str) -> Target:
        """Apply every rule, resolving the host; returns the address to connect to."""
        parsed = parse(url, self.mode)
        try:
            literal: IPAddress | None = ipaddress.ip_address(parsed.host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
                    resolved = await self.resolver(parsed.host, parsed.port)
            except (OSError, TimeoutError) as exc:
                raise UnsafeUrl(f"host '{parsed.host}' does not resolve") from exc
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolved]
            if not addresses:
                raise UnsafeUrl(f"host '{parsed.host}' does not resolve")
        for address in addresses:
            problem = address_problem(address, self.mode)
            if problem:
                raise UnsafeUrl(f"host '{parsed.host}' resolves to {problem} ({address})")
        return Target(url, parsed.scheme, parsed.host, parsed.port, str(addresses[0]))
