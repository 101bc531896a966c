from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict
from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

from oms.models.wallet import WalletStatus


class WalletCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    asset: str
    chain: str


# The answers: what the service renders (checked by mypy) and the operations' OpenAPI schemas (response_model).


class AssetIdentity(TypedDict):
    chain: str
    protocol: str
    tokenId: str


class Wallet(TypedDict):
    id: str
    object: Literal["wallet"]
    customerId: str
    address: str
    asset: str
    chain: str
    status: WalletStatus
    type: Literal["internal", "external"]
    assetIdentity: AssetIdentity
    createdAt: str
    updatedAt: str


class WalletList(TypedDict):
    data: list[Wallet]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None


class EstimatedBalance(TypedDict):
    currencyCode: str
    amount: str


class Balance(TypedDict):
    object: Literal["balance"]
    walletId: str
    asset: str
    chain: str
    balance: str
    available: str
    pending: str
    estimatedBalance: EstimatedBalance
