"""Wire models for cash-ins and the sandbox cash provider (spec 2.6, 2.12)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import EmailStr, Field, StrictBool, StrictStr, StringConstraints
from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

from oms.customer.schemas import Metadata, Strict
from oms.models.funding import CashInStatus
from oms.models.quote import FixedSide
from oms.quote.schemas import DestinationWallet, Fees, Rates, WalletTarget

Reference = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class CashInSource(Strict):
    asset: StrictStr = "usd"
    network: StrictStr = "cash"
    indicatedAmount: StrictStr | None = None
    email: EmailStr | None = None


class CashInDestination(Strict):
    asset: StrictStr
    network: StrictStr
    wallet: WalletTarget


class CashInLocation(Strict):
    locationId: StrictStr
    locationReference: Reference | None = None


class CashInCreate(Strict):
    """``cash.locationId`` / ``cash.locationReference``, or the concept page's spellings
    ``cashLocationId`` / ``cashLocationReference``."""

    customerId: StrictStr
    source: CashInSource = Field(default_factory=CashInSource)
    destination: CashInDestination
    cash: CashInLocation | None = None
    cashLocationId: StrictStr | None = None
    cashLocationReference: Reference | None = None
    sponsorGas: StrictBool | None = None
    developerFees: list[dict[str, Any]] | None = Field(default=None, max_length=10)
    metadata: Metadata | None = None


# The answers: what the service renders (checked by mypy) and the operations' OpenAPI schemas (response_model).


class CashInSourceOut(TypedDict):
    asset: str
    network: str
    amount: str | None
    indicatedAmount: str
    amountGross: str
    amountNet: str
    feesDeducted: Fees
    email: str | None


class CashInWallet(DestinationWallet):
    externalAccount: str | None


class CashInDestinationOut(TypedDict):
    asset: str
    network: str
    amountGross: str
    amountNet: str
    feesDeducted: Fees
    wallet: CashInWallet


class CashRef(TypedDict):
    locationId: str
    locationReference: str


class LocationSummary(TypedDict):
    name: str
    address: str


class DepositInstructions(TypedDict):
    code: str
    expiresAt: str
    locationName: str
    locationAddress: str


class FeeEntry(TypedDict):
    type: Literal["percentage", "fixed"]
    rate: NotRequired[str]  # a percentage entry's
    amount: NotRequired[str]  # a fixed entry's


class FeeSchedule(TypedDict):
    feeCurrency: str
    entries: list[FeeEntry]


class CashInError(TypedDict):
    code: str
    message: str


class CashIn(TypedDict):
    id: str
    object: Literal["cashIn"]
    customerId: str
    status: CashInStatus
    subStatus: str
    type: Literal["fiatToCrypto"]
    fixedAmountSide: FixedSide
    source: CashInSourceOut
    destination: CashInDestinationOut
    cash: CashRef
    location: LocationSummary
    depositInstructions: DepositInstructions
    omsFeeSchedule: FeeSchedule
    rates: Rates
    developerFees: list[dict[str, Any]]
    sponsorGas: bool
    sponsorGasCost: str
    metadata: dict[str, Any]
    transactionId: str | None
    error: NotRequired[CashInError]  # once failed
    createdAt: str
    updatedAt: str
    completedAt: str | None


class CashInList(TypedDict):
    data: list[CashIn]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None


# --- sandbox: the simulated cash provider (GreenDot's retail load API, by field names) -------------------


class BarcodeAuth(Strict):
    """A retailer scans the deposit code (``accountNumber``) for a load of ``amount``."""

    accountNumber: StrictStr
    accountReferenceNumber: Reference
    amount: StrictStr


class AuthCommit(Strict):
    """The retailer took the cash: commit the load authorised as ``originalConfirmationId``."""

    accountNumber: StrictStr
    accountReferenceNumber: Reference
    amount: StrictStr
    originalConfirmationId: StrictStr
    customerId: StrictStr | None = None
    description: Annotated[str, StringConstraints(max_length=200)] | None = None


class ProviderResponse(TypedDict):
    authorizedAmount: str
    confirmationId: str
    responseCode: str
    responseId: str
    responseText: str
