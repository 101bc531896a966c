"""SQL shared by the funding sub-packages: the funding row of a transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.models import TransactionFunding


async def by_transaction(session: AsyncSession, transaction_ids: Sequence[str]) -> dict[str, TransactionFunding]:
    if not transaction_ids:
        return {}
    rows = await session.execute(
        select(TransactionFunding).where(TransactionFunding.transaction_id.in_(list(transaction_ids)))
    )
    return {row.transaction_id: row for row in rows.scalars()}
