from __future__ import annotations

from typing import Any, Literal, NotRequired

from pydantic import ConfigDict, Field, StrictInt, StrictStr, with_config
from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

from oms.customer.schemas import Metadata, Strict
from oms.models.quote import FixedSide, MovementType
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


# The answers' OpenAPI schemas (response_model), and the types the renderers are to return.


@with_config(ConfigDict(extra="allow"))
class TransactionSource(SourceSide):
    """The source side; for money that came in from outside (a cash-in, a bank transfer, a deposit address)
    ``walletId`` is null and provider details may follow (e.g. the rail's reference)."""


class TransactionDestination(DestinationSide):
    txHash: str | None


class TransactionError(TypedDict):
    code: str
    message: str


class Transaction(TypedDict):
    id: str
    object: Literal["transaction"]
    type: MovementType
    status: Literal["processing", "completed", "failed", "cashPickupReady"]
    subStatus: str | None
    quoteId: str | None
    cashInId: str | None
    depositAddressId: str | None
    virtualAccountId: str | None
    source: TransactionSource
    destination: TransactionDestination
    rates: Rates
    fixedAmountSide: FixedSide
    rail: str
    senderCustomerId: str | None
    recipientCustomerId: NotRequired[str]  # when money arrives at a customer's wallet
    role: NotRequired[Literal["sender", "recipient", "both"]]  # listed for a customer (its part in it)
    error: NotRequired[TransactionError]  # once failed
    developerFees: list[dict[str, Any]]
    sponsorGasCost: str
    partnerTransactionId: int | None
    tags: str | None
    metadata: dict[str, Any]
    createdAt: str
    updatedAt: str
    completedAt: str | None


class TransactionList(TypedDict):
    data: list[Transaction]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None
