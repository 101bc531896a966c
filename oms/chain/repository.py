"""The chain sender's SQL: sends claimed by stage, their signed attempts, and each sender address's nonce."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from oms.kit.sql import insert_ignore, is_postgres
from oms.models import ChainNonce, ChainSend, ChainSendAttempt


async def set_aside(
    session: AsyncSession, send_id: str, *, error: str, until: datetime, now: datetime, status: str | None = None
) -> None:
    """A plain update of one send: the reason it failed, and when to look at it again (only while it is at
    ``status``, when given: a send another worker moved on meanwhile is left as it is)."""
    statement = update(ChainSend).where(ChainSend.id == send_id)
    if status is not None:
        statement = statement.where(ChainSend.status == status)
    await session.execute(statement.values(last_error=error, next_check_at=until, updated_at=now))


async def claim_due(session: AsyncSession, status: str, now: datetime, limit: int) -> list[ChainSend]:
    """Sends at ``status`` whose next check is due, oldest due first; on PostgreSQL locked, skipping those
    another worker holds (several workers share the stages)."""
    statement = (
        select(ChainSend)
        .where(ChainSend.status == status, ChainSend.next_check_at <= now)
        .order_by(ChainSend.next_check_at, ChainSend.created_at)
        .limit(limit)
    )
    if is_postgres(session):
        statement = statement.with_for_update(key_share=True, skip_locked=True)
    return list((await session.execute(statement)).scalars())


async def lock_sends(session: AsyncSession, send_ids: Collection[str]) -> dict[str, ChainSend]:
    """These sends, locked in id order in one statement (re-read: the session may hold older copies)."""
    if not send_ids:
        return {}
    statement = (
        select(ChainSend)
        .where(ChainSend.id.in_(list(send_ids)))
        .order_by(ChainSend.id)
        .execution_options(populate_existing=True)
    )
    if is_postgres(session):
        statement = statement.with_for_update(key_share=True)
    return {send.id: send for send in (await session.execute(statement)).scalars()}


async def attempts_of(session: AsyncSession, send_ids: Collection[str]) -> list[ChainSendAttempt]:
    """Every signed attempt of these sends, newest first."""
    if not send_ids:
        return []
    rows = await session.execute(
        select(ChainSendAttempt)
        .where(ChainSendAttempt.send_id.in_(list(send_ids)))
        .order_by(ChainSendAttempt.attempt.desc())
    )
    return list(rows.scalars())


async def has_nonce(session: AsyncSession, chain: str, address: str) -> bool:
    """Whether ``address``'s nonces are counted here yet (they start from what the chain reports)."""
    statement = select(ChainNonce.next_nonce).where(ChainNonce.chain == chain, ChainNonce.address == address)
    return await session.scalar(statement) is not None


async def start_nonce(session: AsyncSession, chain: str, address: str, start: int) -> None:
    """Count ``address``'s nonces from ``start``, unless a concurrent worker already began (theirs stands)."""
    await session.execute(insert_ignore(session, ChainNonce).values(chain=chain, address=address, next_nonce=start))


async def take_nonce(session: AsyncSession, chain: str, address: str) -> int:
    """The next nonce of ``address``, taken: one statement, so two workers never take the same one."""
    result = await session.execute(
        update(ChainNonce)
        .where(ChainNonce.chain == chain, ChainNonce.address == address)
        .values(next_nonce=ChainNonce.next_nonce + 1)
        .returning(ChainNonce.next_nonce)
    )
    return int(result.scalar_one()) - 1
