"""Who may read /metrics: a client whose address is in ``OMS_METRICS_ALLOW`` (loopback by default), or one
that presents ``OMS_METRICS_TOKEN`` as its bearer token. Metrics name routes and volumes, not secrets, but
they are an operator's, not the internet's."""

from __future__ import annotations

import ipaddress

from starlette.types import Scope

from oms.errors import AuthenticationFailed, PermissionDenied
from oms.kit.address import ClientAddress, Network
from oms.kit.crypto import constant_time_equals


class MetricsAccess:
    def __init__(self, *, allowed: str, token: str, addresses: ClientAddress) -> None:
        self._allowed: tuple[Network, ...] = tuple(
            ipaddress.ip_network(part.strip(), strict=False) for part in allowed.split(",") if part.strip()
        )
        self._token = token
        self._addresses = addresses

    def check(self, scope: Scope) -> None:
        """Return if the request may read the metrics; raise 401 for a wrong token, 403 for anyone else."""
        presented = _bearer(scope)
        if presented is not None and self._token:
            if constant_time_equals(presented, self._token):
                return
            raise AuthenticationFailed("Invalid metrics token.")
        if self._allowed_address(self._addresses.of(scope)):
            return
        raise PermissionDenied(
            "metrics_not_allowed",
            "GET /metrics answers the addresses in OMS_METRICS_ALLOW, or a request with the bearer token "
            "OMS_METRICS_TOKEN.",
        )

    def _allowed_address(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self._allowed)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None
