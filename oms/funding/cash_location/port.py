"""The cash-location port: where customers can hand over (or pick up) cash.

A provider integration (GreenDot's retail network, AllPoint's ATMs) implements ``CashLocationSource``;
the sandbox uses ``DatasetLocations`` over the dataset shipped in ``oms/funding/data``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Flow = Literal["cashIn", "cashOut"]
FLOWS: dict[str, Flow] = {"cashIn": "cashIn", "cashOut": "cashOut"}  # by name (a dataset's text)


@dataclass(frozen=True, slots=True)
class CashLocation:
    id: str  # loc_… , stable: derived from the provider's reference
    location_reference: str  # the provider's own opaque reference
    provider: str
    retailer: str
    name: str
    address: str
    city: str
    state: str
    zip_code: str
    country: str
    latitude: float
    longitude: float
    flows: frozenset[Flow]

    @property
    def full_address(self) -> str:
        return f"{self.address}, {self.city}, {self.state} {self.zip_code}"


@dataclass(frozen=True, slots=True)
class Nearby:
    location: CashLocation
    distance_km: float


class CashLocationSource(Protocol):
    def providers(self) -> frozenset[str]:
        """Provider codes this source knows (``greendot``, ``allpoint``)."""

    def nearest(
        self, *, provider: str, flow: str, latitude: float, longitude: float, radius_km: float, limit: int
    ) -> list[Nearby]:
        """Locations of ``provider`` offering ``flow`` within ``radius_km``, nearest first."""

    def get(self, location_id: str) -> CashLocation | None:
        """One location by id."""
