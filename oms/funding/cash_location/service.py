"""Finding cash locations: validation and the wire shape (spec 2.6, item shape decided in docs/decisions.md)."""

from __future__ import annotations

from oms.errors import InvalidRequest
from oms.funding.cash_location.port import CashLocation, CashLocationSource, Nearby
from oms.funding.cash_location.schemas import CashLocationList, CashLocationOut

KM_PER_MILE = 1.609344
DEFAULT_RADIUS_KM = 25.0
MAX_RADIUS_KM = 100.0


class CashLocationService:
    def __init__(self, source: CashLocationSource) -> None:
        self._source = source

    def list(
        self, *, provider: str, flow: str, latitude: float, longitude: float, radius_km: float, limit: int
    ) -> CashLocationList:
        if provider not in self._source.providers():
            raise InvalidRequest(
                "unsupported_provider",
                f"Unknown provider '{provider}'; use one of: {', '.join(sorted(self._source.providers()))}.",
                param="provider",
            )
        found = self._source.nearest(
            provider=provider, flow=flow, latitude=latitude, longitude=longitude, radius_km=radius_km, limit=limit
        )
        return {
            "object": "list",
            "data": [render(nearby) for nearby in found],
            "hasMore": False,
            "radius": radius_km,
        }

    def get(self, location_id: str) -> CashLocation | None:
        return self._source.get(location_id)


def render(nearby: Nearby) -> CashLocationOut:
    location = nearby.location
    return {
        "id": location.id,
        "object": "cashLocation",
        "locationReference": location.location_reference,
        "provider": location.provider,
        "name": location.name,
        "retailer": location.retailer,
        "address": location.address,
        "city": location.city,
        "state": location.state,
        "zipCode": location.zip_code,
        "country": location.country,
        "coordinates": {"latitude": location.latitude, "longitude": location.longitude},
        "flows": sorted(location.flows),
        # Kilometres (the documented unit), with miles alongside for US screens.
        "distance": round(nearby.distance_km, 3),
        "distanceMiles": round(nearby.distance_km / KM_PER_MILE, 3),
    }
