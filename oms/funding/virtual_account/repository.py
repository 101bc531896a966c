"""All SQL for virtual accounts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.kit.ids import is_valid_id
from oms.models import VirtualAccount


async def get(
    session: AsyncSession, tenant_id: str, virtual_account_id: str, *, for_update: bool = False
) -> VirtualAccount | None:
    if not is_valid_id(virtual_account_id, "va"):
        return None
    statement = select(VirtualAccount).where(
        VirtualAccount.id == virtual_account_id, VirtualAccount.tenant_id == tenant_id
    )
    if for_update:
        statement = statement.with_for_update(key_share=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def number_taken(session: AsyncSession, routing_number: str, account_number: str) -> bool:
    statement = select(VirtualAccount.id).where(
        VirtualAccount.routing_number == routing_number, VirtualAccount.account_number == account_number
    )
    return (await session.scalar(statement)) is not None


def list_statement(tenant_id: str, customer_id: str, *, status: str | None) -> Select[Any]:
    statement = select(VirtualAccount).where(
        VirtualAccount.tenant_id == tenant_id, VirtualAccount.customer_id == customer_id
    )
    if status is None:
        return statement.where(VirtualAccount.status != "deleted")
    return statement.where(VirtualAccount.status == status)
