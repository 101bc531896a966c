"""The reconciler's reads: which wallets to check, what sends are still in flight, what the fee accounts hold."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.kit.sql import insert_for
from oms.models import ChainSend, ChainSendAttempt, LedgerAccount, ReconcileRecord, Wallet


async def wallets(session: AsyncSession, *, tenant_id: str | None) -> list[Wallet]:
    """Every wallet, or one tenant's."""
    statement = select(Wallet) if tenant_id is None else select(Wallet).where(Wallet.tenant_id == tenant_id)
    return list((await session.execute(statement)).scalars())


async def attempts_of_unsettled_sends(session: AsyncSession) -> Sequence[tuple[ChainSend, str]]:
    """Each attempt (its transaction hash) of every send submitted but not yet settled in the ledger."""
    rows = await session.execute(
        select(ChainSend, ChainSendAttempt.tx_hash)
        .join(ChainSendAttempt, ChainSendAttempt.send_id == ChainSend.id)
        .where(ChainSend.settled.is_(False), ChainSend.status != "queued")
    )
    return [(send, tx_hash) for send, tx_hash in rows]


async def fee_balances_by_currency(session: AsyncSession) -> dict[str, int]:
    """What the fee accounts hold, summed per ledger currency (``asset:chain``)."""
    rows = await session.execute(
        select(LedgerAccount.currency, func.sum(LedgerAccount.balance))
        .where(LedgerAccount.kind == "fees")
        .group_by(LedgerAccount.currency)
    )
    return {currency: int(total) for currency, total in rows}


EVERY_TENANT = "*"  # the scope of a run over every tenant's wallets


def scope_of(tenant_id: str | None) -> str:
    return EVERY_TENANT if tenant_id is None else tenant_id


async def record_run(session: AsyncSession, values: dict[str, Any]) -> None:
    """Keep this run as its scope's last (it replaces the one before)."""
    statement = insert_for(session, ReconcileRecord).values(**values)
    changed = {name: statement.excluded[name] for name in values if name != "scope"}
    await session.execute(statement.on_conflict_do_update(index_elements=["scope"], set_=changed))


async def last_run(session: AsyncSession, *, tenant_id: str | None) -> ReconcileRecord | None:
    """The last run for every tenant (``tenant_id`` None) or for this one."""
    return await session.get(ReconcileRecord, scope_of(tenant_id))
