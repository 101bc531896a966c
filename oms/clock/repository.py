"""All SQL of the tenant test clocks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnExpressionArgument, ScalarSelect, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from oms.kit.sql import insert_ignore
from oms.models import TenantClock


def offset_of(tenant_id: ColumnExpressionArgument[str]) -> ScalarSelect[int]:
    """A tenant's clock offset in milliseconds, as an expression (NULL if never moved): read alone by
    ``offset_ms`` and inside the fast lane's statements."""
    return select(TenantClock.offset_ms).where(TenantClock.tenant_id == tenant_id).scalar_subquery()


# Read by every quote and execution in sandbox mode: built once, run as Core on the session's connection.
_OFFSET = select(offset_of(bindparam("tenant_id")))


async def offset_ms(session: AsyncSession, tenant_id: str) -> int:
    connection = await session.connection()
    return int((await connection.execute(_OFFSET, {"tenant_id": tenant_id})).scalar() or 0)


async def offsets_ms(session: AsyncSession) -> dict[str, int]:
    """Every tenant whose clock runs ahead of the server's."""
    rows = await session.execute(select(TenantClock.tenant_id, TenantClock.offset_ms).where(TenantClock.offset_ms > 0))
    return {row[0]: int(row[1]) for row in rows}


async def add_ms(session: AsyncSession, tenant_id: str, milliseconds: int, at: datetime) -> int:
    """Move the tenant's clock forward (a single atomic update, so concurrent advances add up)."""
    await session.execute(insert_ignore(session, TenantClock).values(tenant_id=tenant_id, offset_ms=0, updated_at=at))
    result = await session.execute(
        update(TenantClock)
        .where(TenantClock.tenant_id == tenant_id)
        .values(offset_ms=TenantClock.offset_ms + milliseconds, updated_at=at)
        .returning(TenantClock.offset_ms)
    )
    return int(result.scalar_one())
