"""The client address of a request: the peer of its connection, or, behind trusted proxies, the address they
name in ``X-Forwarded-For`` (read right to left: the last hop no trusted proxy added is the client)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"


class ClientAddress:
    def __init__(self, trusted_proxies: str) -> None:
        self._trusted: tuple[Network, ...] = tuple(
            ipaddress.ip_network(part.strip(), strict=False) for part in trusted_proxies.split(",") if part.strip()
        )

    def of(self, scope: Scope) -> str:
        client = scope.get("client")
        peer = str(client[0]) if client else UNKNOWN
        if not self._trusted or not self._is_trusted(peer):
            return peer
        hops = [hop.strip() for hop in _forwarded_for(scope["headers"]) if hop.strip()]
        for hop in reversed(hops):
            if not self._is_trusted(hop):
                return hop
        return hops[0] if hops else peer

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._trusted)


def _forwarded_for(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    """Every hop of every X-Forwarded-For header, in order (a proxy may add a header or extend the last)."""
    hops: list[str] = []
    for name, value in headers:
        if name == b"x-forwarded-for":
            hops += value.decode("latin-1").split(",")
    return hops
