from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictInt

from oms.customer.schemas import Strict


class ClockAdvance(Strict):
    """Move the tenant's sandbox clock forward by ``seconds`` (1 second to 366 days)."""

    seconds: Annotated[StrictInt, Field(ge=1, le=366 * 24 * 3600)]


class SandboxClock(BaseModel):
    object: Literal["sandboxClock"] = "sandboxClock"
    now: str
    offsetSeconds: float
    systemNow: str
