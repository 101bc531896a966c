"""Wire models for deposit addresses (spec 2.9) and their sandbox simulation (spec 2.12)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictStr

from oms.customer.schemas import Strict
from oms.funding.virtual_account.schemas import DestinationOut, DeveloperFee, FundingDestination, FundingMetadata, Label


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


class DepositInstructions(BaseModel):
    address: str
    asset: str
    network: str


class DepositAddressSourceOut(BaseModel):
    asset: str
    network: str
    depositInstructions: DepositInstructions


class DepositAddress(BaseModel):
    id: str
    object: Literal["depositAddress"] = "depositAddress"
    customerId: str
    status: Literal["active", "paused", "deleted"]
    transactionType: Literal["cryptoToCrypto"] = "cryptoToCrypto"
    source: DepositAddressSourceOut
    destination: DestinationOut
    label: str | None
    developerFees: list[dict[str, Any]]
    metadata: dict[str, Any]
    createdAt: str
    updatedAt: str


class DepositAddressList(BaseModel):
    data: list[DepositAddress]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None


class SimulatedAmount(Strict):
    value: StrictStr


class DepositAddressSimulation(Strict):
    """``{amount: {value}}``; the currency is the deposit address's source asset."""

    amount: SimulatedAmount


class AmountOut(BaseModel):
    value: str
    currency: str


class SimulationResult(BaseModel):
    amount: AmountOut
    depositAddressId: str
    network: str
    status: Literal["submitted"] = "submitted"
    submittedAt: str
    transactionHash: str
