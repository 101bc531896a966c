"""What the reviews need of the transaction package, implemented there (``oms/transaction/held.py``) and given by
the composition root, so that this package imports none of it."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from oms.models import Transaction


class HeldTransfers(Protocol):
    async def release(self, session: AsyncSession, transaction: Transaction) -> None:
        """Every review passed: the held send is queued (``held → queued``), the transaction back to
        ``fundsHeld``, its event. ``transaction`` is locked by the caller."""
        ...

    async def refuse(self, session: AsyncSession, transaction: Transaction, code: str, message: str) -> None:
        """A review rejected or expired: the send cancelled, the hold released once through the settlement's
        ledger path for a failed transfer, the transaction ``failed`` with ``code``, its event."""
        ...
