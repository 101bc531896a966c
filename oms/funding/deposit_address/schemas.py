"""Wire models for deposit addresses (spec 2.9) and their sandbox simulation (spec 2.12)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, StrictStr
from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

from oms.customer.schemas import Strict
from oms.funding.virtual_account.schemas import (
    DestinationOut,
    DeveloperFee,
    FundingDestination,
    FundingMetadata,
    Label,
    SimulationAmount,
)
from oms.models import DepositAddressDepositStatus, DepositAddressTransferStatus, InstrumentStatus


class DepositAddressSource(Strict):
    asset: StrictStr
    network: StrictStr


class DepositAddressCreate(Strict):
    source: DepositAddressSource
    destination: FundingDestination
    developerFees: list[DeveloperFee] | None = Field(default=None, max_length=10)
    label: Label | None = None
    metadata: FundingMetadata | None = None


class DepositAddressUpdate(Strict):
    status: Literal["active", "paused"] | None = None
    label: Label | None = None
    metadata: FundingMetadata | None = None


# The answers: what the service renders (checked by mypy) and the operations' OpenAPI schemas (response_model).


class DepositInstructions(TypedDict):
    address: str
    asset: str
    network: str


class DepositAddressSourceOut(TypedDict):
    asset: str
    network: str
    depositInstructions: DepositInstructions


class DepositAddress(TypedDict):
    id: str
    object: Literal["depositAddress"]
    customerId: str
    status: InstrumentStatus
    transactionType: Literal["cryptoToCrypto"]
    source: DepositAddressSourceOut
    destination: DestinationOut
    label: str | None
    developerFees: list[dict[str, Any]]
    metadata: dict[str, Any]
    createdAt: str
    updatedAt: str


class DepositAddressList(TypedDict):
    data: list[DepositAddress]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None


class DepositAddressTransfer(TypedDict):
    """A transfer into a deposit address: the resource of its events (``depositAddress.transferHeld``)."""

    id: str
    object: Literal["depositAddressTransfer"]
    depositAddressId: str
    customerId: str
    asset: str
    network: str
    amount: str  # what arrived on chain, exactly, even above the maximum amount
    fromAddress: str
    txHash: str
    blockNumber: int
    status: DepositAddressTransferStatus
    holdReason: str | None
    transactionId: str | None
    createdAt: str


class ScreenedDepositAddressTransfer(TypedDict):
    """A transfer into a deposit address frozen by a screening hit (its sender is listed), as the admin API and the
    compliance-only events (``depositAddress.transferFrozen``, ``…Released``, ``…Blocked``) show it: never in a
    tenant's normal answers or events."""

    id: str
    object: Literal["screenedDepositAddressTransfer"]
    tenantId: str
    depositAddressId: str
    customerId: str
    asset: str
    network: str
    amount: str
    fromAddress: str
    txHash: str
    blockNumber: int
    # frozen, then routed or held (released: as any transfer) or blocked (rejected: never forwarded)
    status: DepositAddressDepositStatus
    transactionId: str | None
    screeningReason: str | None
    reviewedBy: str | None
    reviewNote: str | None
    reviewedAt: str | None
    createdAt: str


class ScreenedDepositAddressTransferList(TypedDict):
    data: list[ScreenedDepositAddressTransfer]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None


class DepositAddressSimulation(Strict):
    """``{amount: {value}}`` or ``{amount: "50.00"}``; the currency is the deposit address's source asset."""

    amount: SimulationAmount


class AmountOut(TypedDict):
    value: str
    currency: str


class SimulationResult(TypedDict):
    amount: AmountOut
    depositAddressId: str
    network: str
    status: Literal["submitted"]
    submittedAt: str
    transactionHash: str
