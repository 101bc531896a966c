"""Wire models for events (the envelope every webhook carries)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class EventData(BaseModel):
    object: dict[str, Any]


class Event(BaseModel):
    id: str
    object: Literal["event"] = "event"
    type: str
    createdAt: str
    sequence: int
    data: EventData


class EventList(BaseModel):
    data: list[Event]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None
