"""The SQL every funding instrument shares: one by id (locked for a change) and a customer's list."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.kit.ids import is_valid_id
from oms.models import FundingInstrument

M = TypeVar("M", bound=FundingInstrument)


async def get(
    session: AsyncSession, model: type[M], prefix: str, tenant_id: str, instrument_id: str, *, for_update: bool = False
) -> M | None:
    if not is_valid_id(instrument_id, prefix):
        return None
    statement = select(model).where(model.id == instrument_id, model.tenant_id == tenant_id)
    if for_update:
        # FOR NO KEY UPDATE: a change serialises with another change and with what arrives (a simulated
        # deposit locks the same row), but does not block the rows that only reference it.
        statement = statement.with_for_update(key_share=True)
    return (await session.execute(statement)).scalar_one_or_none()


def list_statement(model: type[M], tenant_id: str, customer_id: str, *, status: str | None) -> Select[M]:
    """A customer's instruments: every one but the deleted, or those of one status."""
    statement = select(model).where(model.tenant_id == tenant_id, model.customer_id == customer_id)
    if status is None:
        return statement.where(model.status != "deleted")
    return statement.where(model.status == status)
