"""All SQL of the sanctions lists."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from oms.kit.sql import is_postgres
from oms.models import ScreeningAddress, ScreeningList

CHUNK = 1000


async def active(session: AsyncSession, *, for_update: bool = False) -> ScreeningList | None:
    statement = select(ScreeningList).where(ScreeningList.active)
    if for_update and is_postgres(session):
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def by_sha256(session: AsyncSession, sha256: str) -> ScreeningList | None:
    return (await session.execute(select(ScreeningList).where(ScreeningList.sha256 == sha256))).scalar_one_or_none()


async def listed(session: AsyncSession, addresses: Collection[str]) -> list[tuple[ScreeningList, ScreeningAddress]]:
    """The active list's entries for these (normalised) addresses."""
    if not addresses:
        return []
    statement = (
        select(ScreeningList, ScreeningAddress)
        .join(ScreeningAddress, ScreeningAddress.list_id == ScreeningList.id)
        .where(ScreeningList.active, ScreeningAddress.address.in_(sorted(set(addresses))))
        .order_by(ScreeningAddress.address, ScreeningAddress.currency)
    )
    return [(row[0], row[1]) for row in await session.execute(statement)]


async def add_list(session: AsyncSession, listing: ScreeningList, rows: Sequence[dict[str, str]]) -> None:
    session.add(listing)
    await session.flush()
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(ScreeningAddress), list(rows[start : start + CHUNK]))


async def replace_active(session: AsyncSession, previous: ScreeningList | None, new_id: str) -> None:
    """The new list becomes the active one; the previous one is kept on record, without its addresses."""
    if previous is not None:
        await session.execute(update(ScreeningList).where(ScreeningList.id == previous.id).values(active=False))
        await session.execute(delete(ScreeningAddress).where(ScreeningAddress.list_id == previous.id))
    await session.execute(update(ScreeningList).where(ScreeningList.id == new_id).values(active=True))


async def all_lists(session: AsyncSession) -> list[ScreeningList]:
    statement = select(ScreeningList).order_by(ScreeningList.imported_at.desc())
    return list((await session.execute(statement)).scalars())
