from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from oms.auth.dependencies import Auth, needs
from oms.auth.scopes import Scope
from oms.funding.cash_location.schemas import CashLocationList
from oms.funding.cash_location.service import DEFAULT_RADIUS_KM, MAX_RADIUS_KM, CashLocationService
from oms.responses import JSONResponse
from oms.routing import OMSRoute, provided

router = APIRouter(route_class=OMSRoute, tags=["CashLocation"])
Locations = Annotated[CashLocationService, Depends(provided(CashLocationService))]


@router.get(
    "/cash-locations",
    dependencies=[needs(Scope.READ)],
    response_model=CashLocationList,
    summary="Find cash locations near a point, nearest first (distance in kilometres)",
)
async def list_cash_locations(
    auth: Auth,
    locations: Locations,
    provider: Annotated[str, Query(min_length=1, max_length=32)],
    latitude: Annotated[float, Query(ge=-90, le=90)],
    longitude: Annotated[float, Query(ge=-180, le=180)],
    flow: Literal["cashIn", "cashOut"] = "cashIn",
    radius: Annotated[float, Query(gt=0, le=MAX_RADIUS_KM, description="kilometres")] = DEFAULT_RADIUS_KM,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> JSONResponse:
    del auth  # authenticated, but the locations are the same for every tenant
    return JSONResponse(
        locations.list(
            provider=provider, flow=flow, latitude=latitude, longitude=longitude, radius_km=radius, limit=limit
        )
    )
