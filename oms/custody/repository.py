"""Custody's SQL: the wrapped master seed (one row), the derivation indexes handed out (``custody_keys``) and the
retired key-encryption keys (``custody_retired_keys``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from oms.kit.sql import insert_ignore
from oms.models import CustodyKey, CustodyRetiredKey, CustodySeed


async def seed(session: AsyncSession, seed_id: int, *, reread: bool = False) -> CustodySeed | None:
    """The seed row; ``reread`` after ``insert_seed_once``, whose row may be another process's."""
    return await session.get(CustodySeed, seed_id, populate_existing=reread)


async def insert_seed_once(
    session: AsyncSession,
    *,
    seed_id: int,
    nonce: bytes,
    ciphertext: bytes,
    backend: str,
    key_id: str,
    key_label: str | None,
    account_xpub: str,
    created_at: datetime,
) -> None:
    """Insert the seed unless a concurrent first start already did (then theirs stands)."""
    statement = insert_ignore(session, CustodySeed).values(
        id=seed_id,
        nonce=nonce,
        ciphertext=ciphertext,
        wrapping_backend=backend,
        kek_fingerprint=key_id,
        wrapping_key_label=key_label,
        account_xpub=account_xpub,
        created_at=created_at,
        wrapped_at=created_at,
    )
    await session.execute(statement)


async def rewrap_seed(
    session: AsyncSession,
    *,
    seed_id: int,
    was: tuple[str, str, bytes],
    nonce: bytes,
    ciphertext: bytes,
    backend: str,
    key_id: str,
    key_label: str | None,
    at: datetime,
) -> bool:
    """Replace the seed's wrapping, if it is still ``was`` (backend, key id, ciphertext): False when another
    rotation or recovery changed it first (then nothing is written)."""
    old_backend, old_key_id, old_ciphertext = was
    result = await session.execute(
        update(CustodySeed)
        .where(
            CustodySeed.id == seed_id,
            CustodySeed.wrapping_backend == old_backend,
            CustodySeed.kek_fingerprint == old_key_id,
            CustodySeed.ciphertext == old_ciphertext,
        )
        .values(
            nonce=nonce,
            ciphertext=ciphertext,
            wrapping_backend=backend,
            kek_fingerprint=key_id,
            wrapping_key_label=key_label,
            wrapped_at=at,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]  # a DML's Result is a CursorResult, typed as Result


async def retire_key(session: AsyncSession, retired: CustodyRetiredKey) -> None:
    session.add(retired)
    await session.flush()


async def retired_keys(session: AsyncSession, seed_id: int) -> list[CustodyRetiredKey]:
    rows = await session.scalars(
        select(CustodyRetiredKey).where(CustodyRetiredKey.seed_id == seed_id).order_by(CustodyRetiredKey.id)
    )
    return list(rows)


async def has_keys(session: AsyncSession) -> bool:
    """Whether any derivation index was handed out (a database that has served, or its restored copy)."""
    return await session.scalar(select(CustodyKey.index).limit(1)) is not None


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
