"""The signer's SQL: the send it is asked to sign, its attempts so far, its transaction (the reviews are
``oms.controls.repository``'s)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.models import ChainSend, ChainSendAttempt, Transaction


async def send(session: AsyncSession, send_id: str) -> ChainSend | None:
    return await session.get(ChainSend, send_id)


async def newest_attempt(session: AsyncSession, send_id: str) -> int | None:
    """The number of the send's newest signed attempt (None: none yet)."""
    found = await session.scalar(select(func.max(ChainSendAttempt.attempt)).where(ChainSendAttempt.send_id == send_id))
    return None if found is None else int(found)


async def transaction(session: AsyncSession, transaction_id: str) -> Transaction | None:
    return await session.get(Transaction, transaction_id)
