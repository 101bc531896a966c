"""Wire models for deposits: no operation answers one; it is the resource of the ``wallet.depositDetected``
and ``wallet.depositFlagged`` events (``data.object``)."""

from __future__ import annotations

from typing import Literal

from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

from oms.models import DepositStatus
from oms.wallet.schemas import Wallet


class Deposit(TypedDict):
    id: str
    object: Literal["deposit"]
    walletId: str
    customerId: str
    wallet: Wallet
    asset: str
    network: str
    amount: str  # what arrived on chain, exactly, even above the maximum amount (then flagged)
    fromAddress: str
    txHash: str
    blockNumber: int
    status: DepositStatus
    createdAt: str


class FrozenDeposit(Deposit):
    """A deposit frozen by a screening hit, in the compliance-only events (``wallet.depositFrozen``, ``…Released``,
    ``…Blocked``): never in a tenant's normal answers or events."""

    screeningReason: str
    reviewedBy: str | None
    reviewNote: str | None


class ScreenedDeposit(TypedDict):
    """A deposit frozen by a screening hit, as the admin API shows it to operators."""

    id: str
    object: Literal["screenedDeposit"]
    tenantId: str
    walletId: str
    network: str
    asset: str
    amount: str
    fromAddress: str
    txHash: str
    status: DepositStatus  # frozen, then credited (released) or blocked (rejected)
    screeningReason: str | None
    reviewedBy: str | None
    reviewNote: str | None
    reviewedAt: str | None
    createdAt: str


class ScreenedDepositList(TypedDict):
    data: list[ScreenedDeposit]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None
