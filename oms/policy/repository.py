"""All SQL of policies: their versions, and what the engine counts (a customer's and a wallet's transfers in a
rolling window, the first transfer to an address)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.kit.ids import is_valid_id
from oms.models import Customer, Policy, PolicyVersion, Transaction


@dataclass(frozen=True, slots=True)
class Applicable:
    """An active policy's current version that applies to a movement (its rules are read separately: a version
    never changes, so the engine keeps them once read)."""

    id: str
    policy_id: str
    name: str
    action: str
    required_approvals: int
    approval_expires_seconds: int | None


async def applicable(session: AsyncSession, tenant_id: str, customer_id: str, wallet_id: str) -> list[Applicable]:
    """The current versions of the tenant's active policies for the whole tenant, this customer or this wallet."""
    statement = (
        select(
            PolicyVersion.id, PolicyVersion.policy_id, PolicyVersion.name, PolicyVersion.action,
            PolicyVersion.required_approvals, PolicyVersion.approval_expires_seconds,
        )
        .join(Policy, Policy.current_version_id == PolicyVersion.id)
        .where(
            Policy.tenant_id == tenant_id,
            Policy.status == "active",
            or_(PolicyVersion.customer_id.is_(None), PolicyVersion.customer_id == customer_id),
            or_(PolicyVersion.wallet_id.is_(None), PolicyVersion.wallet_id == wallet_id),
        )
        .order_by(PolicyVersion.id)
    )  # fmt: skip
    return [Applicable(*row) for row in await session.execute(statement)]


async def rules_of(session: AsyncSession, version_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    if not version_ids:
        return {}
    statement = select(PolicyVersion.id, PolicyVersion.rules).where(PolicyVersion.id.in_(list(version_ids)))
    return {row[0]: row[1] for row in await session.execute(statement)}


async def lock_customer(session: AsyncSession, customer_id: str) -> None:
    """The customer's row, locked until the execution commits: what the engine counts of the customer's (and its
    wallets') transfers cannot change under it (SQLite: the write transaction is exclusive already)."""
    statement = select(Customer.id).where(Customer.id == customer_id).with_for_update(key_share=True)
    await session.execute(statement)


def _outgoing() -> Any:
    return (Transaction.status != "failed", Transaction.source_wallet_id.is_not(None))


async def sent_since(session: AsyncSession, *, per: str, owner_id: str, since: datetime) -> tuple[int, int]:
    """How many transfers, and how much in all (gross), left the wallet or the customer after ``since`` (the
    tenant's clock, as ``createdAt``); a failed one does not count, a held one does."""
    owner = Transaction.source_wallet_id if per == "wallet" else Transaction.sender_customer_id
    statement = select(func.count(), func.coalesce(func.sum(Transaction.source_gross), 0)).where(
        owner == owner_id, Transaction.created_at > since, *_outgoing()
    )
    count, total = (await session.execute(statement)).one()
    return int(count), int(total)


async def first_sent_to(session: AsyncSession, customer_id: str, address: str) -> datetime | None:
    """When the customer first sent to this external address (a failed transfer does not count)."""
    statement = select(func.min(Transaction.created_at)).where(
        Transaction.sender_customer_id == customer_id,
        Transaction.destination_wallet_id.is_(None),
        Transaction.destination_address == address,
        *_outgoing(),
    )
    found: datetime | None = await session.scalar(statement)
    return found


# --- management -----------------------------------------------------------------------------------------------


async def get(session: AsyncSession, tenant_id: str, policy_id: str, *, for_update: bool = False) -> Policy | None:
    if not is_valid_id(policy_id, "pol"):
        return None
    statement = select(Policy).where(Policy.id == policy_id, Policy.tenant_id == tenant_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def versions(session: AsyncSession, ids: Sequence[str]) -> dict[str, PolicyVersion]:
    if not ids:
        return {}
    statement = select(PolicyVersion).where(PolicyVersion.id.in_(list(ids)))
    return {version.id: version for version in (await session.execute(statement)).scalars()}


async def versions_of(session: AsyncSession, policy_id: str) -> list[PolicyVersion]:
    statement = select(PolicyVersion).where(PolicyVersion.policy_id == policy_id).order_by(PolicyVersion.version)
    return list((await session.execute(statement)).scalars())


def list_statement(tenant_id: str, status: str | None) -> Select[Any]:
    statement = select(Policy).where(Policy.tenant_id == tenant_id)
    if status is not None:
        statement = statement.where(Policy.status == status)
    return statement
