"""A held transfer released or refused (``oms.controls.ports.HeldTransfers``): the held send is the transfer's
principal, written with ``status = "held"`` by the execution, which the sender never claims (it claims only the
statuses it knows), so a held transfer is never signed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.controls.decision import FUNDS_HELD, tenant_sub_status
from oms.kit.time import Clock
from oms.models import ChainSend, Transaction
from oms.transaction.service import TransactionService
from oms.transaction.settlement import Settlement

HELD = "held"


async def _held_send(session: AsyncSession, transaction: Transaction) -> ChainSend:
    statement = (
        select(ChainSend)
        .where(ChainSend.reference == transaction.id, ChainSend.status == HELD)
        .with_for_update(key_share=True)
    )
    send = (await session.execute(statement)).scalar_one_or_none()
    if send is None:
        raise LookupError(f"transaction {transaction.id} has no held send")
    return send


class HeldTransfers:
    def __init__(self, *, transactions: TransactionService, settlement: Settlement, clock: Clock) -> None:
        self._transactions = transactions
        self._settlement = settlement
        self._clock = clock

    async def release(self, session: AsyncSession, transaction: Transaction) -> None:
        send = await _held_send(session, transaction)
        now = self._clock.now()
        send.status, send.next_check_at, send.updated_at = "queued", now, now
        shown = tenant_sub_status(transaction.sub_status)
        transaction.sub_status = FUNDS_HELD
        transaction.version += 1
        transaction.updated_at = await self._transactions.tenant_now(session, transaction.tenant_id)
        await session.flush()
        if shown != FUNDS_HELD:  # what the tenant sees changed (a screening review's release shows nothing)
            await self._transactions.announce(session, transaction)

    async def refuse(self, session: AsyncSession, transaction: Transaction, code: str, message: str) -> None:
        send = await _held_send(session, transaction)
        await self._settlement.refuse_unsent(session, transaction, send, code, message)
