"""Wire models for virtual accounts (spec 2.8) and their sandbox simulation (spec 2.12)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StrictStr, StringConstraints

from oms.customer.schemas import Metadata, Strict
from oms.quote.schemas import DestinationWallet, WalletTarget

MAX_METADATA_KEYS = 20
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _at_most_20_keys(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > MAX_METADATA_KEYS:
        raise ValueError(f"at most {MAX_METADATA_KEYS} keys")
    return value


FundingMetadata = Annotated[Metadata, AfterValidator(_at_most_20_keys)]


class DeveloperFee(Strict):
    """Accepted for forward compatibility and stripped, as on quotes (alpha: no request-side developer fees)."""

    type: Literal["percentage"] = "percentage"
    rate: StrictStr
    wallet: StrictStr | None = None


class VirtualAccountSource(Strict):
    asset: Literal["usd"] = "usd"
    network: Literal["usBank"] = "usBank"


class FundingDestination(Strict):
    asset: StrictStr
    network: StrictStr
    wallet: WalletTarget


class VirtualAccountCreate(Strict):
    source: VirtualAccountSource = Field(default_factory=VirtualAccountSource)
    destination: FundingDestination
    developerFees: list[DeveloperFee] | None = Field(default=None, max_length=10)
    accountholderName: Literal["customer", "oms", "developer"] = "oms"
    label: Label | None = None
    bankMemo: Label | None = None
    metadata: FundingMetadata | None = None


class VirtualAccountUpdate(Strict):
    status: Literal["active", "paused"] | None = None
    label: Label | None = None
    bankMemo: Label | None = None
    metadata: FundingMetadata | None = None


class BankDetailsOut(BaseModel):
    bankName: str
    bankAddress: str
    accountNumber: str
    routingNumber: str
    accountType: str
    swiftCode: str
    ownerName: str
    reference: str


class DestinationOut(BaseModel):
    asset: str
    network: str
    wallet: DestinationWallet


class VirtualAccount(BaseModel):
    id: str
    object: Literal["virtualAccount"] = "virtualAccount"
    customerId: str
    status: Literal["active", "paused", "deleted"]
    source: dict[str, Any]
    bankDetails: BankDetailsOut
    destination: DestinationOut
    accountholderName: Literal["customer", "oms", "developer"]
    label: str | None
    bankMemo: str | None
    developerFees: list[dict[str, Any]]
    metadata: dict[str, Any]
    createdAt: str
    updatedAt: str


class VirtualAccountList(BaseModel):
    data: list[VirtualAccount]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None


# --- sandbox: an inbound bank transfer --------------------------------------------------------------------

UETR = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"  # SWIFT gpi: a UUIDv4
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=140)]


# The fields each rail carries besides ``rail`` and ``amount`` (any other is refused, naming the field).
RAIL_FIELDS = {
    "ach_in": {"senderName", "senderRoutingNumber", "senderAccountNumber", "description", "traceNumber"},
    "wire_in": {"senderName", "senderBankName", "senderRoutingNumber", "reference", "imad"},
    "swift_in": {"senderName", "senderBic", "senderCountry", "reference", "uetr", "currency"},
}


class Simulation(Strict):
    """An inbound transfer, by ``rail``: ``ach_in`` (senderName, senderRoutingNumber, senderAccountNumber,
    description, traceNumber), ``wire_in`` (senderName, senderBankName, senderRoutingNumber, reference, imad)
    or ``swift_in`` (senderName, senderBic, senderCountry, reference, uetr, currency: USD only)."""

    rail: Literal["ach_in", "wire_in", "swift_in"]
    amount: StrictStr
    senderName: Text | None = None
    senderRoutingNumber: StrictStr | None = None
    senderAccountNumber: Annotated[str, StringConstraints(pattern=r"^[0-9]{4,17}$")] | None = None
    description: Annotated[str, StringConstraints(max_length=10)] | None = None  # NACHA company entry description
    traceNumber: Annotated[str, StringConstraints(pattern=r"^[0-9]{15}$")] | None = None
    senderBankName: Text | None = None
    reference: Text | None = None
    imad: Annotated[str, StringConstraints(pattern=r"^[0-9]{8}[A-Z0-9]{8}[0-9]{6}$")] | None = None
    senderBic: StrictStr | None = None
    senderCountry: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    uetr: Annotated[str, StringConstraints(pattern=UETR)] | None = None
    currency: Literal["USD", "usd"] | None = None


class Money(BaseModel):
    value: str
    currency: str


class SimulationResult(BaseModel):
    object: Literal["virtualAccountSimulation"] = "virtualAccountSimulation"
    virtualAccountId: str
    rail: Literal["ach_in", "wire_in", "swift_in"]
    status: Literal["submitted"] = "submitted"
    amount: Money
    fee: Money
    transactionId: str
    submittedAt: str
    traceNumber: str | None = None
    imad: str | None = None
    uetr: str | None = None
