"""The reconciler's reads: which wallets to check, what sends are still in flight, what the fee accounts hold."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

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


async def record_run(session: AsyncSession, record: ReconcileRecord) -> None:
    session.add(record)
    await session.flush()


async def last_run(session: AsyncSession, *, tenant_id: str | None) -> ReconcileRecord | None:
    """The newest run for every tenant (``tenant_id`` None) or for this one."""
    owner = ReconcileRecord.tenant_id.is_(None) if tenant_id is None else ReconcileRecord.tenant_id == tenant_id
    statement = select(ReconcileRecord).where(owner).order_by(ReconcileRecord.at.desc(), ReconcileRecord.id.desc())
    return (await session.execute(statement.limit(1))).scalar_one_or_none()


async def forget_runs_before(session: AsyncSession, moment: datetime) -> None:
    await session.execute(delete(ReconcileRecord).where(ReconcileRecord.at < moment))
