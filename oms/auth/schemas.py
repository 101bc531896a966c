from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictStr
from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    apiKey: StrictStr
    apiSecret: StrictStr


class Token(TypedDict):
    accessToken: str
    tokenType: Literal["bearer"]
    expiresIn: int
    expiresAt: str
