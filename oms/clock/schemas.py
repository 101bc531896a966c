from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt
from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

from oms.customer.schemas import Strict


class ClockAdvance(Strict):
    """Move the tenant's sandbox clock forward by ``seconds`` (1 second to 366 days)."""

    seconds: Annotated[StrictInt, Field(ge=1, le=366 * 24 * 3600)]


class SandboxClock(TypedDict):
    object: Literal["sandboxClock"]
    now: str
    offsetSeconds: float
    systemNow: str
