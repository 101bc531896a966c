from __future__ import annotations

from typing import Literal

from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

from oms.funding.cash_location.port import Flow

# The answers: what the service renders (checked by mypy) and the operations' OpenAPI schemas (response_model).


class Coordinates(TypedDict):
    latitude: float
    longitude: float


class CashLocationOut(TypedDict):
    id: str
    object: Literal["cashLocation"]
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
    flows: list[Flow]
    distance: float
    distanceMiles: float


class CashLocationList(TypedDict):
    object: Literal["list"]
    data: list[CashLocationOut]
    hasMore: bool
    radius: float
