from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictStr, StringConstraints
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


# --- tenants and API keys in the admin API (oms/admin/keys.py) ------------------------------------------

ScopeName = Literal["read", "customers:write", "wallets:write", "money:write", "webhooks:write"]
# What an operator may give: scopes or a preset (full: every scope of the day; read_only: read).
Grant = Literal[ScopeName, "full", "read_only"]
Grants = Annotated[list[Grant], Field(min_length=1, max_length=20)]
# A key's state at a moment: revoked, else expired once its expiry has passed, else active (``key_status``).
KeyStatus = Literal["active", "revoked", "expired"]
TenantName = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"\S")]


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: TenantName


class TenantResource(TypedDict):
    id: str
    object: Literal["tenant"]
    name: str
    createdAt: str


class TenantList(TypedDict):
    data: list[TenantResource]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenantId: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    scopes: Grants = ["full"]
    # When the key stops working; none: until revoked.
    expiresAt: AwareDatetime | None = None
    # The server's own mode if not given (a key of the other mode is refused by this server).
    mode: Literal["sandbox", "live"] | None = None


class ApiKeyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scopes: Grants


class AdminApiKey(TypedDict):
    id: str
    object: Literal["apiKey"]
    tenantId: str
    mode: Literal["sandbox", "live"]
    scopes: list[ScopeName]
    status: KeyStatus
    createdAt: str
    expiresAt: str | None
    revokedAt: str | None


class AdminApiKeyList(TypedDict):
    data: list[AdminApiKey]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None


class CreatedApiKey(TypedDict):
    apiKey: AdminApiKey
    # Shown only in this answer: it is never stored (only its HMAC) and cannot be read again.
    apiSecret: str
