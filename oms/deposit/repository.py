"""All SQL for deposit detection."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.kit.ids import is_valid_id
from oms.kit.sql import insert_ignore, is_postgres
from oms.models import ChainCursor, ChainDeposit, ChainSend, ChainSendAttempt, Wallet


async def cursor(session: AsyncSession, chain: str, asset: str, *, start: int) -> ChainCursor:
    """The scanner's cursor row, locked for this pass (created at ``start`` on first use)."""
    await session.execute(insert_ignore(session, ChainCursor).values(chain=chain, asset=asset, scanned_to=start))
    statement = select(ChainCursor).where(ChainCursor.chain == chain, ChainCursor.asset == asset)
    if is_postgres(session):
        statement = statement.with_for_update(key_share=True, skip_locked=True)
    found = (await session.execute(statement)).scalar_one_or_none()
    if found is None:
        raise LookupError("another worker is scanning this chain")
    return found


async def wallets_at(session: AsyncSession, chain: str, asset: str, addresses: Collection[str]) -> dict[str, Wallet]:
    if not addresses:
        return {}
    rows = await session.execute(
        select(Wallet).where(Wallet.chain == chain, Wallet.asset == asset, Wallet.address.in_(list(addresses)))
    )
    return {wallet.address: wallet for wallet in rows.scalars()}


async def settled_by_transfer(session: AsyncSession, tx_hashes: Collection[str]) -> set[str]:
    """Hashes of our own sends to OMS wallets: settlement credits those, not the scanner."""
    if not tx_hashes:
        return set()
    rows = await session.execute(
        select(ChainSendAttempt.tx_hash)
        .join(ChainSend, ChainSend.id == ChainSendAttempt.send_id)
        .where(ChainSendAttempt.tx_hash.in_(list(tx_hashes)), ChainSend.to_wallet_id.is_not(None))
    )
    return set(rows.scalars())


async def known(session: AsyncSession, chain: str, tx_hashes: Collection[str]) -> dict[tuple[str, int], ChainDeposit]:
    """The deposits already recorded for these transactions, by (tx hash, log index): one query a pass."""
    if not tx_hashes:
        return {}
    rows = await session.execute(
        select(ChainDeposit).where(ChainDeposit.chain == chain, ChainDeposit.tx_hash.in_(list(tx_hashes)))
    )
    return {(deposit.tx_hash, deposit.log_index): deposit for deposit in rows.scalars()}


async def pending(session: AsyncSession, chain: str, asset: str) -> list[ChainDeposit]:
    statement = (
        select(ChainDeposit)
        .where(ChainDeposit.chain == chain, ChainDeposit.asset == asset, ChainDeposit.status == "pending")
        .order_by(ChainDeposit.block_number)
    )
    return list((await session.execute(statement)).scalars())


async def flagged(session: AsyncSession, *, tenant_id: str | None) -> list[ChainDeposit]:
    """Deposits the ledger could not take and no operator has reviewed yet, oldest first."""
    statement = select(ChainDeposit).where(ChainDeposit.status == "flagged").order_by(ChainDeposit.created_at)
    if tenant_id is not None:
        statement = statement.where(ChainDeposit.tenant_id == tenant_id)
    return list((await session.execute(statement)).scalars())


async def get(session: AsyncSession, deposit_id: str) -> ChainDeposit | None:
    if not is_valid_id(deposit_id, "dep"):
        return None
    return await session.get(ChainDeposit, deposit_id)


def screened_statement(*, status: str | None, tenant_id: str | None) -> Select[Any]:
    """Deposits whose sender was on the sanctions list (frozen, then credited or blocked)."""
    statement = select(ChainDeposit).where(ChainDeposit.screening_reason.is_not(None))
    if status is not None:
        statement = statement.where(ChainDeposit.status == status)
    if tenant_id is not None:
        statement = statement.where(ChainDeposit.tenant_id == tenant_id)
    return statement


async def get_for_update(session: AsyncSession, deposit_id: str) -> ChainDeposit | None:
    statement = select(ChainDeposit).where(ChainDeposit.id == deposit_id).with_for_update(key_share=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def dismissed_by_wallet(session: AsyncSession) -> dict[str, int]:
    """Per wallet, the on-chain amount of its dismissed deposits: tokens at its address outside the ledger."""
    rows = await session.execute(
        select(ChainDeposit.wallet_id, ChainDeposit.chain_amount).where(ChainDeposit.status == "dismissed")
    )
    found: dict[str, int] = defaultdict(int)
    for wallet_id, chain_amount in rows:
        found[wallet_id] += int(chain_amount or 0)
    return found


async def pending_wallets(session: AsyncSession, chain: str, asset: str) -> set[tuple[str, str]]:
    """(wallet id, tenant id) of every wallet with a pending deposit on this chain in this asset."""
    rows = await session.execute(
        select(ChainDeposit.wallet_id, ChainDeposit.tenant_id)
        .where(ChainDeposit.chain == chain, ChainDeposit.asset == asset, ChainDeposit.status == "pending")
        .distinct()
    )
    return {(row[0], row[1]) for row in rows}
