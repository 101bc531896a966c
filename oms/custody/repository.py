"""Custody's SQL: the sealed master seed (one row) and the derivation indexes handed out (``custody_keys``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.kit.sql import insert_ignore
from oms.models import CustodyKey, CustodySeed


async def seed(session: AsyncSession, seed_id: int, *, reread: bool = False) -> CustodySeed | None:
    """The seed row; ``reread`` after ``insert_seed_once``, whose row may be another process's."""
    return await session.get(CustodySeed, seed_id, populate_existing=reread)


async def insert_seed_once(
    session: AsyncSession,
    *,
    seed_id: int,
    nonce: bytes,
    ciphertext: bytes,
    kek_fingerprint: str,
    account_xpub: str,
    created_at: datetime,
) -> None:
    """Insert the seed unless a concurrent first start already did (then theirs stands)."""
    statement = insert_ignore(session, CustodySeed).values(
        id=seed_id,
        nonce=nonce,
        ciphertext=ciphertext,
        kek_fingerprint=kek_fingerprint,
        account_xpub=account_xpub,
        created_at=created_at,
    )
    await session.execute(statement)


async def allocate_index(session: AsyncSession, purpose: str, at: datetime) -> int:
    """The next derivation index (the table's sequence: never handed out twice, gaps allowed)."""
    result = await session.execute(
        insert(CustodyKey).values(purpose=purpose, created_at=at).returning(CustodyKey.index)
    )
    return int(result.scalar_one())


async def record_address(session: AsyncSession, index: int, address: str) -> None:
    await session.execute(CustodyKey.__table__.update().where(CustodyKey.index == index).values(address=address))


async def lowest_index_for(session: AsyncSession, purpose: str) -> int | None:
    """The first key allocated for ``purpose``: the one every process uses when two raced to create it."""
    index = await session.scalar(select(func.min(CustodyKey.index)).where(CustodyKey.purpose == purpose))
    return None if index is None else int(index)
