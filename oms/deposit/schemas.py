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
