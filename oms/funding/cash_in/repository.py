"""All SQL for cash-ins."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.kit.ids import is_valid_id
from oms.kit.sql import is_postgres
from oms.models import CashIn


async def get(session: AsyncSession, tenant_id: str, cash_in_id: str, *, for_update: bool = False) -> CashIn | None:
    if not is_valid_id(cash_in_id, "ci"):
        return None
    statement = select(CashIn).where(CashIn.id == cash_in_id, CashIn.tenant_id == tenant_id)
    if for_update:
        statement = statement.with_for_update(key_share=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def by_code(session: AsyncSession, tenant_id: str, code: str) -> CashIn | None:
    statement = select(CashIn).where(CashIn.code == code, CashIn.tenant_id == tenant_id).with_for_update(key_share=True)
    return (await session.execute(statement)).scalar_one_or_none()


def list_statement(tenant_id: str, *, customer_id: str | None, status: str | None, now: datetime) -> Select[Any]:
    statement = select(CashIn).where(CashIn.tenant_id == tenant_id)
    if customer_id is not None:
        statement = statement.where(CashIn.customer_id == customer_id)
    if status == "pending":  # a pending code that lapsed reads as expired
        statement = statement.where(CashIn.status == "pending", CashIn.code_expires_at > now)
    elif status == "expired":
        statement = statement.where(
            or_(CashIn.status == "expired", and_(CashIn.status == "pending", CashIn.code_expires_at <= now))
        )
    elif status is not None:
        statement = statement.where(CashIn.status == status)
    return statement


async def lapsed(
    session: AsyncSession,
    *,
    deadline: datetime,
    limit: int,
    tenant_id: str | None = None,
    excluding: set[str] | None = None,
) -> list[CashIn]:
    """Pending cash-ins whose code expired at or before ``deadline`` (claimed: parallel workers never share)."""
    statement = select(CashIn).where(CashIn.status == "pending", CashIn.code_expires_at <= deadline)
    if tenant_id is not None:
        statement = statement.where(CashIn.tenant_id == tenant_id)
    if excluding:
        statement = statement.where(CashIn.tenant_id.not_in(list(excluding)))
    statement = statement.order_by(CashIn.code_expires_at).limit(limit)
    if is_postgres(session):
        statement = statement.with_for_update(key_share=True, skip_locked=True)
    return list((await session.execute(statement)).scalars())


async def deposits_in_window(
    session: AsyncSession, customer_id: str, statuses: Collection[str], since: datetime, until: datetime
) -> tuple[int, int]:
    """(count, total cents) of the customer's cash-ins at ``statuses`` deposited in the window (since, until]."""
    row = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(CashIn.amount), 0)).where(
                CashIn.customer_id == customer_id,
                CashIn.status.in_(statuses),
                CashIn.deposited_at > since,
                CashIn.deposited_at <= until,
            )
        )
    ).one()
    count, total = row
    return int(count), int(total or 0)  # coalesced to 0 in SQL; None only to the type checker
