from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictStr


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    apiKey: StrictStr
    apiSecret: StrictStr


class Token(BaseModel):
    accessToken: str
    tokenType: Literal["bearer"] = "bearer"
    expiresIn: int
    expiresAt: str
