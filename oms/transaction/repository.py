"""All SQL for transactions."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.kit.ids import is_valid_id
from oms.kit.sql import is_postgres
from oms.models import ChainSend, Transaction


async def get(
    session: AsyncSession, tenant_id: str, transaction_id: str, *, for_update: bool = False
) -> Transaction | None:
    if not is_valid_id(transaction_id, "txn"):
        return None
    statement = select(Transaction).where(Transaction.id == transaction_id, Transaction.tenant_id == tenant_id)
    if for_update:
        statement = statement.with_for_update(key_share=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def lock_many(session: AsyncSession, references: Sequence[tuple[str, str]]) -> dict[str, Transaction]:
    """These transactions ((tenant id, transaction id) pairs), locked in id order in one statement, by id."""
    ids = {transaction_id for _, transaction_id in references}
    if not ids:
        return {}
    statement = (
        select(Transaction)
        .where(Transaction.id.in_(sorted(ids)))
        .order_by(Transaction.id)
        .with_for_update(key_share=True)
    )
    tenants = set(references)
    found = (await session.execute(statement)).scalars()
    return {t.id: t for t in found if (t.tenant_id, t.id) in tenants}


def list_statement(
    tenant_id: str, *, status: str | None, type: str | None, customer_id: str | None, wallet_id: str | None
) -> Select[Any]:
    statement = select(Transaction).where(Transaction.tenant_id == tenant_id)
    if status is not None:
        statement = statement.where(Transaction.status == status)
    if type is not None:
        statement = statement.where(Transaction.type == type)
    if customer_id is not None:
        statement = statement.where(
            or_(Transaction.sender_customer_id == customer_id, Transaction.recipient_customer_id == customer_id)
        )
    if wallet_id is not None:
        statement = statement.where(
            or_(Transaction.source_wallet_id == wallet_id, Transaction.destination_wallet_id == wallet_id)
        )
    return statement


async def principal_hashes(session: AsyncSession, transaction_ids: Sequence[str]) -> dict[str, str | None]:
    """The on-chain hash of each transaction's principal transfer (known once it is signed)."""
    if not transaction_ids:
        return {}
    rows = await session.execute(
        select(ChainSend.reference, ChainSend.tx_hash).where(
            ChainSend.reference.in_(list(transaction_ids)), ChainSend.purpose == "transfer"
        )
    )
    return {row[0]: row[1] for row in rows}


async def unsettled_sends(
    session: AsyncSession, *, purposes: Collection[str], limit: int, skip_locked: bool, now: datetime
) -> list[ChainSend]:
    """Final sends of these purposes not yet applied, oldest first; one set aside after a failure (``postpone``)
    waits its turn. Claimed, never waited for, where rows can be (``skip_locked``: PostgreSQL)."""
    statement = (
        select(ChainSend)
        .where(
            ChainSend.status.in_(("confirmed", "failed")),
            ChainSend.settled.is_(False),
            ChainSend.next_check_at <= now,
            ChainSend.purpose.in_(sorted(purposes)),
        )
        .order_by(ChainSend.updated_at)
        .limit(limit)
    )
    if skip_locked:
        statement = statement.with_for_update(key_share=True, skip_locked=True)
    return list((await session.execute(statement)).scalars())


async def failed_sends(session: AsyncSession, transaction_id: str, purpose: str) -> int:
    """How many of a transaction's sends of ``purpose`` failed on chain (reverted)."""
    statement = select(func.count()).where(
        ChainSend.reference == transaction_id, ChainSend.purpose == purpose, ChainSend.status == "failed"
    )
    return int(await session.scalar(statement) or 0)


# --- the console's pictures and timelines (oms/console) -----------------------------------------------------


def _bucket(session: AsyncSession, column: Any, width: str) -> Any:
    """A UTC timestamp column as text cut to ``width`` ("day": ``YYYY-MM-DD``, "minute": ``YYYY-MM-DD HH:MM``),
    the same text on both databases (SQLite keeps the UTC time as ISO text; PostgreSQL formats it)."""
    if is_postgres(session):
        pattern = "YYYY-MM-DD" if width == "day" else "YYYY-MM-DD HH24:MI"
        return func.to_char(func.timezone("UTC", column), pattern)
    return func.substr(column, 1, 10 if width == "day" else 16)


async def completed_volume_by_day(
    session: AsyncSession, since: datetime, *, tenant_id: str | None = None
) -> list[tuple[str, str, int]]:
    """(day, asset, amount in minor units) of the transactions completed since ``since``, by the day they began."""
    day = _bucket(session, Transaction.created_at, "day")
    statement = (
        select(day, Transaction.asset, func.sum(Transaction.source_gross))
        .where(Transaction.created_at >= since, Transaction.status == "completed")
        .group_by(day, Transaction.asset)
        .order_by(day)
    )
    if tenant_id is not None:
        statement = statement.where(Transaction.tenant_id == tenant_id)
    return [(str(d), str(asset), int(total or 0)) for d, asset, total in await session.execute(statement)]


async def created_per_minute(
    session: AsyncSession, since: datetime, *, tenant_id: str | None = None
) -> list[tuple[str, int]]:
    """(minute, how many transactions began in it) since ``since``."""
    minute = _bucket(session, Transaction.created_at, "minute")
    statement = select(minute, func.count()).where(Transaction.created_at >= since).group_by(minute).order_by(minute)
    if tenant_id is not None:
        statement = statement.where(Transaction.tenant_id == tenant_id)
    return [(str(m), int(count)) for m, count in await session.execute(statement)]


async def sends_of(session: AsyncSession, transaction_id: str) -> list[ChainSend]:
    """Every chain send made for a transaction (its principal transfer, fees, refunds), oldest first."""
    statement = select(ChainSend).where(ChainSend.reference == transaction_id).order_by(ChainSend.created_at)
    return list((await session.execute(statement)).scalars())
