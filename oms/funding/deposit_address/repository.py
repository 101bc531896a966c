"""The SQL of deposit addresses besides the instrument's (``oms.funding.instrument.repository``): the watcher's
cursor and the deposits they receive."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.kit.sql import insert_ignore, is_postgres
from oms.models import DepositAddress, DepositAddressCursor, DepositAddressDeposit


async def watched(session: AsyncSession, chain: str, asset: str) -> dict[str, DepositAddress]:
    """Every deposit address on (chain, asset), whatever its status: a transfer to any of them is recorded."""
    rows = await session.execute(
        select(DepositAddress).where(DepositAddress.chain == chain, DepositAddress.asset == asset)
    )
    return {address.address: address for address in rows.scalars()}


async def ensure_cursor(session: AsyncSession, chain: str, asset: str, *, start: int) -> None:
    await session.execute(
        insert_ignore(session, DepositAddressCursor).values(chain=chain, asset=asset, scanned_to=start)
    )


async def cursor(session: AsyncSession, chain: str, asset: str, *, start: int) -> DepositAddressCursor:
    """The watcher's cursor, locked for this pass (``LookupError`` if another worker holds it)."""
    await ensure_cursor(session, chain, asset, start=start)
    statement = select(DepositAddressCursor).where(
        DepositAddressCursor.chain == chain, DepositAddressCursor.asset == asset
    )
    if is_postgres(session):
        statement = statement.with_for_update(key_share=True, skip_locked=True)
    found = (await session.execute(statement)).scalar_one_or_none()
    if found is None:
        raise LookupError("another worker is watching this chain")
    return found


async def recorded(session: AsyncSession, chain: str, tx_hashes: Collection[str]) -> set[tuple[str, int]]:
    """The (tx hash, log index) of deposits already recorded for these transactions: one query a pass."""
    if not tx_hashes:
        return set()
    rows = await session.execute(
        select(DepositAddressDeposit.tx_hash, DepositAddressDeposit.log_index).where(
            DepositAddressDeposit.chain == chain, DepositAddressDeposit.tx_hash.in_(list(tx_hashes))
        )
    )
    return {(tx_hash, log_index) for tx_hash, log_index in rows}


async def held(session: AsyncSession, deposit_address_id: str) -> list[DepositAddressDeposit]:
    statement = (
        select(DepositAddressDeposit)
        .where(DepositAddressDeposit.deposit_address_id == deposit_address_id, DepositAddressDeposit.status == "held")
        .order_by(DepositAddressDeposit.block_number, DepositAddressDeposit.log_index)
    )
    return list((await session.execute(statement)).scalars())


async def routed_as(session: AsyncSession, transaction_id: str) -> DepositAddressDeposit | None:
    """The deposit that ``transaction_id`` forwards (its latest routing)."""
    statement = select(DepositAddressDeposit).where(DepositAddressDeposit.transaction_id == transaction_id)
    return (await session.execute(statement.with_for_update(key_share=True))).scalar_one_or_none()


def screened_statement(*, status: str | None, tenant_id: str | None) -> Select[Any]:
    """Transfers whose sender was on the sanctions list (frozen, then routed, held or blocked)."""
    statement = select(DepositAddressDeposit).where(DepositAddressDeposit.screening_reason.is_not(None))
    if status is not None:
        statement = statement.where(DepositAddressDeposit.status == status)
    if tenant_id is not None:
        statement = statement.where(DepositAddressDeposit.tenant_id == tenant_id)
    return statement


async def get(session: AsyncSession, deposit_id: str, *, for_update: bool = False) -> DepositAddressDeposit | None:
    statement = select(DepositAddressDeposit).where(DepositAddressDeposit.id == deposit_id)
    if for_update:
        statement = statement.with_for_update(key_share=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def deposit_addresses(session: AsyncSession, ids: Collection[str]) -> dict[str, DepositAddress]:
    """These deposit addresses by id, in one query."""
    if not ids:
        return {}
    rows = await session.execute(select(DepositAddress).where(DepositAddress.id.in_(list(ids))))
    return {address.id: address for address in rows.scalars()}
