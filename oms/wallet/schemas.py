from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class WalletCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    asset: str
    chain: str


class AssetIdentity(BaseModel):
    chain: str
    protocol: str
    tokenId: str


class Wallet(BaseModel):
    id: str
    object: Literal["wallet"] = "wallet"
    customerId: str
    address: str
    asset: str
    chain: str
    status: Literal["active", "suspended", "closed"]
    type: Literal["internal", "external"]
    assetIdentity: AssetIdentity
    createdAt: str
    updatedAt: str


class WalletList(BaseModel):
    data: list[Wallet]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None


class EstimatedBalance(BaseModel):
    currencyCode: str
    amount: str


class Balance(BaseModel):
    object: Literal["balance"] = "balance"
    walletId: str
    asset: str
    chain: str
    balance: str
    available: str
    pending: str
    estimatedBalance: EstimatedBalance
