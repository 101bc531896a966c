"""All SQL for wallets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnExpressionArgument, Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.kit.ids import is_valid_id
from oms.models import LedgerAccount, Wallet

# Built once: the money path reads wallets on every request (construction costs more than the row).
_WALLET = select(Wallet).where(Wallet.id == bindparam("wallet_id"), Wallet.tenant_id == bindparam("tenant_id"))
_WALLETS = select(Wallet).where(Wallet.id.in_(bindparam("wallet_ids", expanding=True)))


async def get(session: AsyncSession, tenant_id: str, wallet_id: str) -> Wallet | None:
    if not is_valid_id(wallet_id, "wlt"):
        return None
    parameters = {"wallet_id": wallet_id, "tenant_id": tenant_id}
    return (await session.execute(_WALLET, parameters)).scalar_one_or_none()


def balances_of(
    wallet_id: ColumnExpressionArgument[str], tenant_id: ColumnExpressionArgument[str]
) -> Select[str, str, str, int]:
    """(asset, chain, account kind, balance) of each account of a tenant's wallet: the balance read, alone
    (``get_with_balances``) and in the fast lane (oms/fastlane/repository.py)."""
    return (
        select(Wallet.asset, Wallet.chain, LedgerAccount.kind, LedgerAccount.balance)
        .join(LedgerAccount, LedgerAccount.wallet_id == Wallet.id)
        .where(Wallet.id == wallet_id, Wallet.tenant_id == tenant_id)
    )


_WALLET_BALANCES = balances_of(bindparam("wallet_id"), bindparam("tenant_id"))


async def get_with_balances(
    session: AsyncSession, tenant_id: str, wallet_id: str
) -> tuple[str, str, dict[str, int]] | None:
    """(asset, chain, balance by account kind) of a tenant's wallet, in one round trip (the hot read)."""
    if not is_valid_id(wallet_id, "wlt"):
        return None
    connection = await session.connection()  # Core: a plain column read needs none of the ORM's execution path
    rows = (await connection.execute(_WALLET_BALANCES, {"wallet_id": wallet_id, "tenant_id": tenant_id})).all()
    return balances_by_kind(rows)


def balances_by_kind(rows: Sequence[Any]) -> tuple[str, str, dict[str, int]] | None:
    """``balances_of``'s rows as (asset, chain, balance by account kind); None for none."""
    if not rows:
        return None
    return rows[0][0], rows[0][1], {row[2]: row[3] for row in rows}


async def by_ids(session: AsyncSession, wallet_ids: Sequence[str]) -> dict[str, Wallet]:
    """Wallets by id, in one round trip (ids the caller already holds from a tenant's own record)."""
    rows = await session.execute(_WALLETS, {"wallet_ids": list(wallet_ids)})
    return {wallet.id: wallet for wallet in rows.scalars()}


async def exists_for(session: AsyncSession, customer_id: str, asset: str, chain: str) -> bool:
    statement = select(Wallet.id).where(Wallet.customer_id == customer_id, Wallet.asset == asset, Wallet.chain == chain)
    return (await session.scalar(statement)) is not None


def list_statement(tenant_id: str, customer_id: str) -> Select[Any]:
    return select(Wallet).where(Wallet.tenant_id == tenant_id, Wallet.customer_id == customer_id)
