from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Coordinates(BaseModel):
    latitude: float
    longitude: float


class CashLocationOut(BaseModel):
    id: str
    object: Literal["cashLocation"] = "cashLocation"
    locationReference: str
    provider: str
    name: str
    retailer: str
    address: str
    city: str
    state: str
    zipCode: str
    country: str
    coordinates: Coordinates
    flows: list[Literal["cashIn", "cashOut"]]
    distance: float
    distanceMiles: float


class CashLocationList(BaseModel):
    object: Literal["list"] = "list"
    data: list[CashLocationOut]
    hasMore: bool
    radius: float
