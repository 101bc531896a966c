"""Wire models for events (the envelope every webhook carries)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

# The answers: what the service renders (checked by mypy) and the operations' OpenAPI schemas (response_model).


class EventData(TypedDict):
    object: Mapping[str, Any]  # the resource as it was answered after the change


class Event(TypedDict):
    id: str
    object: Literal["event"]
    type: str
    createdAt: str
    sequence: int
    data: EventData


class EventList(TypedDict):
    data: list[Event]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None
