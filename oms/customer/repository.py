"""All SQL for customers and endorsements."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, ColumnExpressionArgument, ScalarSelect, Select, and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.kit.ids import is_valid_id
from oms.kit.sql import is_postgres
from oms.models import Customer, Endorsement, Wallet


async def get(session: AsyncSession, tenant_id: str, customer_id: str, *, for_update: bool = False) -> Customer | None:
    if not is_valid_id(customer_id, "cst"):
        return None
    statement = select(Customer).where(Customer.id == customer_id, Customer.tenant_id == tenant_id)
    if for_update:
        statement = statement.with_for_update(key_share=True)
    return (await session.execute(statement)).scalar_one_or_none()


def active_endorsement_of(customer_id: ColumnExpressionArgument[str]) -> ColumnElement[bool]:
    """Which endorsements count: the customer's active ones (the one statement of it, for every path)."""
    return and_(Endorsement.customer_id == customer_id, Endorsement.status == "active")


def active_endorsement_names(customer_id: ColumnExpressionArgument[str]) -> ScalarSelect[list[str] | None]:
    """The names of a customer's active endorsements as one array (PostgreSQL; NULL for none): the fast lane's
    statements read them in the same row as everything else."""
    names = select(func.array_agg(Endorsement.name)).where(active_endorsement_of(customer_id))
    return names.scalar_subquery()


# Built once (every money request runs it): statement construction costs more than the row.
_WITH_ACTIVE_ENDORSEMENTS = (
    select(Customer, Endorsement.name)
    .outerjoin(Endorsement, active_endorsement_of(Customer.id))
    .where(Customer.id == bindparam("customer_id"), Customer.tenant_id == bindparam("tenant_id"))
)


async def get_with_active_endorsements(
    session: AsyncSession, tenant_id: str, customer_id: str
) -> tuple[Customer, set[str]] | None:
    """A customer and the names of its active endorsements, in one round trip (every money request)."""
    if not is_valid_id(customer_id, "cst"):
        return None
    parameters = {"customer_id": customer_id, "tenant_id": tenant_id}
    rows = (await session.execute(_WITH_ACTIVE_ENDORSEMENTS, parameters)).all()
    if not rows:
        return None
    return rows[0][0], {row[1] for row in rows if row[1] is not None}


def list_statement(tenant_id: str, *, status: str | None, email: str | None, external_id: str | None) -> Select[Any]:
    statement = select(Customer).where(Customer.tenant_id == tenant_id)
    if status is not None:
        statement = statement.where(Customer.status == status)
    if email is not None:
        statement = statement.where(Customer.email == email)
    if external_id is not None:
        statement = statement.where(Customer.external_id == external_id)
    return statement


async def endorsements_of(session: AsyncSession, customer_ids: Sequence[str]) -> dict[str, list[Endorsement]]:
    found: dict[str, list[Endorsement]] = defaultdict(list)
    if customer_ids:
        rows = await session.execute(select(Endorsement).where(Endorsement.customer_id.in_(customer_ids)))
        for endorsement in rows.scalars():
            found[endorsement.customer_id].append(endorsement)
    return found


async def due_for_review(session: AsyncSession, now: datetime, limit: int) -> list[Endorsement]:
    """Pending endorsements whose review time has come; claimed so parallel workers never share one."""
    statement = (
        select(Endorsement)
        .where(Endorsement.status == "pending", Endorsement.review_after <= now)
        .order_by(Endorsement.review_after)
        .limit(limit)
    )
    if is_postgres(session):
        statement = statement.with_for_update(key_share=True, skip_locked=True)
    return list((await session.execute(statement)).scalars())


async def wallets_of(session: AsyncSession, customer_ids: Sequence[str]) -> dict[str, list[Wallet]]:
    """Each customer's wallets, oldest first: the customer resource lists them (the wallet package, which asks
    the customer service for endorsements, is above this one and cannot be imported from here)."""
    found: dict[str, list[Wallet]] = defaultdict(list)
    if customer_ids:
        rows = await session.execute(
            select(Wallet).where(Wallet.customer_id.in_(customer_ids)).order_by(Wallet.created_at, Wallet.id)
        )
        for wallet in rows.scalars():
            found[wallet.customer_id].append(wallet)
    return found
