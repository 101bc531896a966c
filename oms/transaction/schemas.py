from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from oms.customer.schemas import Metadata, Strict
from oms.quote.schemas import DestinationSide, Rates, SourceSide


class TransactionCreate(Strict):
    quoteId: StrictStr
    deviceFingerprint: StrictStr | None = Field(default=None, max_length=500)
    webSessionId: StrictStr | None = Field(default=None, max_length=500)
    paymentMethodId: StrictStr | None = Field(default=None, max_length=200)
    sourceWalletAddress: StrictStr | None = Field(default=None, max_length=64)
    partnerTransactionId: StrictInt | None = None
    tags: StrictStr | None = Field(default=None, max_length=500)
    metadata: Metadata | None = None


class TransactionSource(SourceSide):
    """The source side; for money that came in from outside (a cash-in, a bank transfer, a deposit address)
    ``walletId`` is null and provider details may follow (e.g. the rail's reference)."""

    model_config = ConfigDict(extra="allow")


class TransactionDestination(DestinationSide):
    txHash: str | None


class TransactionError(BaseModel):
    code: str
    message: str


class Transaction(BaseModel):
    id: str
    object: Literal["transaction"] = "transaction"
    type: Literal["cryptoToCrypto", "fiatToCrypto", "cryptoToFiat"]
    status: Literal["processing", "completed", "failed", "cashPickupReady"]
    subStatus: str | None
    quoteId: str | None
    cashInId: str | None
    depositAddressId: str | None
    virtualAccountId: str | None = None
    source: TransactionSource
    destination: TransactionDestination
    rates: Rates
    fixedAmountSide: Literal["source", "destination"]
    rail: str
    senderCustomerId: str | None
    recipientCustomerId: str | None = None
    role: Literal["sender", "recipient", "both"] | None = None
    error: TransactionError | None = None
    developerFees: list[dict[str, Any]]
    sponsorGasCost: str
    partnerTransactionId: int | None
    tags: str | None
    metadata: dict[str, Any]
    createdAt: str
    updatedAt: str
    completedAt: str | None


class TransactionList(BaseModel):
    data: list[Transaction]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None
