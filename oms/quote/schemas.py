"""Wire models for quotes (and the money-movement sides shared with transactions)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, StrictBool, StrictStr
from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

from oms.customer.schemas import Metadata, Strict
from oms.models.quote import FixedSide, MovementType


class QuoteSource(Strict):
    walletId: StrictStr
    asset: StrictStr
    network: StrictStr
    amount: StrictStr | None = None


class WalletTarget(Strict):
    """Exactly one of: an OMS wallet (``id``, or ``wallet`` as the guides spell it), an address on the
    same network, or a saved external account."""

    id: StrictStr | None = None
    wallet: StrictStr | None = None
    blockchainAddress: StrictStr | None = None
    externalAccount: StrictStr | None = None


class QuoteDestination(Strict):
    asset: StrictStr
    network: StrictStr
    amount: StrictStr | None = None
    wallet: WalletTarget


class QuoteCreate(Strict):
    customerId: StrictStr
    source: QuoteSource
    destination: QuoteDestination
    sponsorGas: StrictBool | None = None
    promoCode: StrictStr | None = None
    developerFees: list[dict[str, Any]] | None = Field(default=None, max_length=10)
    metadata: Metadata | None = None


# The answers: what the service renders (checked by mypy) and the operations' OpenAPI schemas (response_model).
# The sides are shared with transactions and cash-ins.


class Fees(TypedDict):
    total: str
    developer: str
    oms: str
    gas: str


class SourceSide(TypedDict):
    walletId: str | None
    asset: str
    network: str
    amountGross: str
    amountNet: str
    feesDeducted: Fees


class DestinationWallet(TypedDict):
    id: str | None
    blockchainAddress: str | None


class DestinationSide(TypedDict):
    asset: str
    network: str
    amountGross: str
    amountNet: str
    feesDeducted: Fees
    wallet: DestinationWallet


class Rates(TypedDict):
    exchangeRate: str
    effectiveRate: str
    pair: str


class Quote(TypedDict):
    id: str
    object: Literal["quote"]
    type: MovementType
    status: Literal["open", "accepted", "expired"]
    customerId: str
    source: SourceSide
    destination: DestinationSide
    rates: Rates
    fixedAmountSide: FixedSide
    developerFees: list[dict[str, Any]]
    sponsorGas: bool
    sponsorGasCost: str
    metadata: dict[str, Any]
    createdAt: str
    expiresAt: str
