"""Wire models for virtual accounts (spec 2.8) and their sandbox simulation (spec 2.12)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import AfterValidator, Discriminator, Field, StrictStr, StringConstraints, Tag
from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

from oms.customer.schemas import Metadata, Strict
from oms.models import AccountholderName, InstrumentStatus
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
    accountholderName: AccountholderName = "oms"
    label: Label | None = None
    bankMemo: Label | None = None
    metadata: FundingMetadata | None = None


class VirtualAccountUpdate(Strict):
    status: Literal["active", "paused"] | None = None
    label: Label | None = None
    bankMemo: Label | None = None
    metadata: FundingMetadata | None = None


# The answers: what the service renders (checked by mypy) and the operations' OpenAPI schemas (response_model).
# ``DestinationOut`` is shared with deposit addresses.


class VirtualAccountSourceOut(TypedDict):
    asset: Literal["usd"]
    network: Literal["usBank"]
    rails: list[Literal["ach", "wire", "swift"]]


class BankDetailsOut(TypedDict):
    bankName: str
    bankAddress: str
    accountNumber: str
    routingNumber: str
    accountType: str
    swiftCode: str
    ownerName: str
    reference: str


class DestinationOut(TypedDict):
    asset: str
    network: str
    wallet: DestinationWallet


class VirtualAccount(TypedDict):
    id: str
    object: Literal["virtualAccount"]
    customerId: str
    status: InstrumentStatus
    source: VirtualAccountSourceOut
    bankDetails: BankDetailsOut
    destination: DestinationOut
    accountholderName: AccountholderName
    label: str | None
    bankMemo: str | None
    developerFees: list[dict[str, Any]]
    metadata: dict[str, Any]
    createdAt: str
    updatedAt: str


class VirtualAccountList(TypedDict):
    data: list[VirtualAccount]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None


# --- sandbox: an inbound bank transfer --------------------------------------------------------------------

Rail = Literal["ach_in", "wire_in", "swift_in"]
UETR = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"  # SWIFT gpi: a UUIDv4
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=140)]


# The fields each rail carries besides ``rail`` and ``amount`` (any other is refused, naming the field).
RAIL_FIELDS = {
    "ach_in": {"senderName", "senderRoutingNumber", "senderAccountNumber", "description", "traceNumber"},
    "wire_in": {"senderName", "senderBankName", "senderRoutingNumber", "reference", "imad"},
    "swift_in": {"senderName", "senderBic", "senderCountry", "reference", "uetr", "currency"},
}


class SimulatedAmount(Strict):
    """``{"value": "50.00"}``: a simulation's amount in the spec's deposit-address form (``currency``, if given,
    must be the instrument's own: it changes nothing)."""

    value: StrictStr
    currency: StrictStr | None = None


# Both simulations take an amount either way: `"amount": "50.00"` or `"amount": {"value": "50.00"}`.
def _form_of(amount: object) -> str | None:
    """Which of the two forms an amount is in; None (a JSON number above all) is refused naming ``amount``."""
    if isinstance(amount, str):
        return "<text>"
    return "<object>" if isinstance(amount, dict | SimulatedAmount) else None


# The tags are in angle brackets: the request pipeline leaves them out of the parameter it names
# (oms.routing.validation_error), so a bad value is ``amount.value``, not ``amount.<object>.value``.
SimulationAmount = Annotated[
    Annotated[StrictStr, Tag("<text>")] | Annotated[SimulatedAmount, Tag("<object>")],
    Discriminator(
        _form_of,
        custom_error_type="parameter_invalid",
        custom_error_message='give a decimal string ("50.00") or {"value": "50.00"}',
    ),
]


def simulated_value(amount: SimulationAmount) -> tuple[str, str, str | None]:
    """The decimal string, the parameter it came in (``amount`` or ``amount.value``), and the currency named."""
    if isinstance(amount, str):
        return amount, "amount", None
    return amount.value, "amount.value", amount.currency


class Simulation(Strict):
    """An inbound transfer, by ``rail``: ``ach_in`` (senderName, senderRoutingNumber, senderAccountNumber,
    description, traceNumber), ``wire_in`` (senderName, senderBankName, senderRoutingNumber, reference, imad)
    or ``swift_in`` (senderName, senderBic, senderCountry, reference, uetr, currency: USD only)."""

    rail: Rail
    amount: SimulationAmount
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


class Money(TypedDict):
    value: str
    currency: str


class BankTransfer(TypedDict):
    """The rail's own identifiers, as the sending bank gave them (stored with the transaction's funding and
    shown in its ``source.bankTransfer``); each rail has its own besides ``rail`` and ``senderName``."""

    rail: Rail
    senderName: str | None
    senderRoutingNumber: NotRequired[str | None]  # ach_in, wire_in
    traceNumber: NotRequired[str]  # ach_in
    senderAccountNumber: NotRequired[str | None]  # ach_in, masked
    description: NotRequired[str | None]  # ach_in
    imad: NotRequired[str]  # wire_in
    senderBankName: NotRequired[str | None]  # wire_in
    reference: NotRequired[str | None]  # wire_in, swift_in
    uetr: NotRequired[str]  # swift_in
    senderBic: NotRequired[str | None]  # swift_in
    senderCountry: NotRequired[str | None]  # swift_in


class SimulationResult(TypedDict):
    object: Literal["virtualAccountSimulation"]
    virtualAccountId: str
    rail: Rail
    status: Literal["submitted"]
    amount: Money
    fee: Money
    transactionId: str
    submittedAt: str
    traceNumber: NotRequired[str]  # the rail's identifier: ach_in's
    imad: NotRequired[str]  # wire_in's
    uetr: NotRequired[str]  # swift_in's
