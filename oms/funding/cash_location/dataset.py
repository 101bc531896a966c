"""The sandbox adapter of the cash-location port: a few hundred US retail locations from a CSV file.

The file (``oms/funding/data/cash_locations.csv``) is generated once by ``generate_locations.py`` beside it
and committed: real cities, ZIP codes and ZIP centroids, invented but plausible store numbers and streets.
Ids are part of the file, so they are the same on every server and after every restart.
"""

from __future__ import annotations

import csv
import math
from functools import cached_property
from pathlib import Path

from oms.funding.cash_location.port import FLOWS, CashLocation, Nearby

DATASET = Path(__file__).resolve().parent.parent / "data" / "cash_locations.csv"
EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


class DatasetLocations:
    def __init__(self, path: Path = DATASET) -> None:
        self._path = path

    @cached_property
    def _rows(self) -> list[CashLocation]:
        with self._path.open(newline="") as handle:
            return [
                CashLocation(
                    id=row["id"],
                    location_reference=row["location_reference"],
                    provider=row["provider"],
                    retailer=row["retailer"],
                    name=row["name"],
                    address=row["address"],
                    city=row["city"],
                    state=row["state"],
                    zip_code=row["zip_code"],
                    country=row["country"],
                    latitude=float(row["latitude"]),
                    longitude=float(row["longitude"]),
                    flows=frozenset(FLOWS[flow] for flow in row["flows"].split("|")),
                )
                for row in csv.DictReader(handle)
            ]

    @cached_property
    def _by_id(self) -> dict[str, CashLocation]:
        return {location.id: location for location in self._rows}

    def providers(self) -> frozenset[str]:
        return frozenset(location.provider for location in self._rows)

    def nearest(
        self, *, provider: str, flow: str, latitude: float, longitude: float, radius_km: float, limit: int
    ) -> list[Nearby]:
        found = [
            Nearby(location, haversine_km(latitude, longitude, location.latitude, location.longitude))
            for location in self._rows
            if location.provider == provider and flow in location.flows
        ]
        return sorted((n for n in found if n.distance_km <= radius_km), key=lambda n: (n.distance_km, n.location.id))[
            :limit
        ]

    def get(self, location_id: str) -> CashLocation | None:
        return self._by_id.get(location_id)
