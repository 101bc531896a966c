"""SQL shared by the funding sub-packages: the funding row of a transaction, and funding chain sends."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.models import ChainSend, TransactionFunding

# ``funding``: the stablecoin delivered to the destination; ``funding_fee``: a deposit address's fee sweep.
PURPOSES = ("funding", "funding_fee")


async def by_transaction(session: AsyncSession, transaction_ids: Sequence[str]) -> dict[str, TransactionFunding]:
    if not transaction_ids:
        return {}
    rows = await session.execute(
        select(TransactionFunding).where(TransactionFunding.transaction_id.in_(list(transaction_ids)))
    )
    return {row.transaction_id: row for row in rows.scalars()}


async def unsettled_sends(session: AsyncSession, *, limit: int, skip_locked: bool, now: datetime) -> list[ChainSend]:
    """Final sends not yet applied, oldest first; one set aside after a failure (``postpone``) waits its turn."""
    statement = (
        select(ChainSend)
        .where(
            ChainSend.status.in_(("confirmed", "failed")),
            ChainSend.settled.is_(False),
            ChainSend.next_check_at <= now,
            ChainSend.purpose.in_(PURPOSES),
        )
        .order_by(ChainSend.updated_at)
        .limit(limit)
    )
    if skip_locked:
        statement = statement.with_for_update(key_share=True, skip_locked=True)
    return list((await session.execute(statement)).scalars())


async def failed_sends(session: AsyncSession, transaction_id: str, purpose: str) -> int:
    """How many of a transaction's sends of ``purpose`` failed on chain (reverted)."""
    statement = select(func.count()).where(
        ChainSend.reference == transaction_id, ChainSend.purpose == purpose, ChainSend.status == "failed"
    )
    return int(await session.scalar(statement) or 0)
