"""The quotes' SQL (the fast lane's own statements are in ``oms.fastlane.repository``)."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.kit.ids import is_valid_id
from oms.models import Quote

# Built once: an execution reads its quote on every request.
_ONE = select(Quote).where(Quote.id == bindparam("quote_id"), Quote.tenant_id == bindparam("tenant_id"))
_ONE_FOR_UPDATE = _ONE.with_for_update(key_share=True)


async def get(session: AsyncSession, tenant_id: str, quote_id: str, *, for_update: bool = False) -> Quote | None:
    """The tenant's quote (locked against a concurrent execution with ``for_update``), None if there is none."""
    if not is_valid_id(quote_id, "qt"):
        return None
    parameters = {"quote_id": quote_id, "tenant_id": tenant_id}
    result = await session.execute(_ONE_FOR_UPDATE if for_update else _ONE, parameters)
    return result.scalar_one_or_none()
