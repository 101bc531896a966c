"""All SQL of the audit log: the chain head (locked by every appender), the records' inserts, the reads of
``oms audit verify`` and of the admin API's query."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import Select, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from oms.kit.sql import RowsInsert
from oms.models import AuditChainHead, AuditRecord

HEAD_ID = 1


@dataclass
class NewRecord:
    """A record to insert, as plain values (an ORM object costs ten times more to build, on the fast lane's
    path): the columns of ``AuditRecord``, in its order."""

    sequence: int
    created_at: datetime
    actor_kind: str
    actor_id: str
    tenant_id: str | None
    action: str
    object_id: str | None
    request_id: str | None
    client_address: str | None
    outcome: str
    status: int | None
    error_code: str | None
    previous_hash: str
    hash: str = ""


_RECORDS = AuditRecord.__table__
_COLUMNS = [column.name for column in _RECORDS.columns]

_LOCK_HEAD = select(AuditChainHead.sequence, AuditChainHead.hash).where(AuditChainHead.id == HEAD_ID)


async def lock_head(session: AsyncSession) -> tuple[int, str]:
    """The chain's last sequence number and hash, its row locked until the transaction ends (PostgreSQL; on
    SQLite a write transaction holds the whole database already)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    row = (await session.execute(_LOCK_HEAD_TEXT if postgres else _LOCK_HEAD)).one()
    return int(row.sequence), str(row.hash)


async def head(session: AsyncSession) -> tuple[int, str]:
    row = (await session.execute(_LOCK_HEAD)).one()
    return int(row.sequence), str(row.hash)


async def insert_records(session: AsyncSession, records: Sequence[NewRecord]) -> None:
    """Insert chained records and move the head to the last of them: on PostgreSQL in one statement (one round
    trip while the head is locked: the fast lane's, each column one array), on SQLite in two."""
    last = records[-1]
    if session.get_bind().dialect.name == "postgresql":
        # the fast lane's own statement, its $n parameters as they are (asyncpg's paramstyle)
        connection = await session.connection()
        await connection.exec_driver_sql(APPEND_HOT, (*_HOT_RECORDS.arrays(records), last.sequence, last.hash))
        return
    await session.execute(insert(_RECORDS), [{name: record.__dict__[name] for name in _COLUMNS} for record in records])
    await session.execute(
        update(AuditChainHead).where(AuditChainHead.id == HEAD_ID).values(sequence=last.sequence, hash=last.hash)
    )


# --- the fast lane's (asyncpg, on its own connections) --------------------------------------------------

_HOT_RECORDS = RowsInsert(AuditRecord, first_parameter=1, alias="a")
LOCK_HEAD_HOT = f"SELECT sequence, hash FROM audit_chain_head WHERE id = {HEAD_ID} FOR UPDATE"  # noqa: S608 (constant)
# The records and the head's move in one statement (one round trip per batch).
APPEND_HOT = f"""
WITH appended AS ({_HOT_RECORDS.insert()})
UPDATE audit_chain_head SET sequence = ${_HOT_RECORDS.size + 1}, hash = ${_HOT_RECORDS.size + 2} WHERE id = {HEAD_ID}
"""  # noqa: S608 (the names are our model's)


_LOCK_HEAD_TEXT = text(LOCK_HEAD_HOT)  # a Core text statement: no ORM rows to build while the head is locked


async def lock_head_on(connection: asyncpg.Connection) -> tuple[int, str]:
    row = await connection.fetchrow(LOCK_HEAD_HOT)
    assert row is not None  # written by the migration, never deleted
    return int(row["sequence"]), str(row["hash"])


async def insert_records_on(connection: asyncpg.Connection, records: Sequence[NewRecord]) -> None:
    last = records[-1]
    await connection.execute(APPEND_HOT, *_HOT_RECORDS.arrays(records), last.sequence, last.hash)


# --- reads ------------------------------------------------------------------------------------------------


async def snapshot(session: AsyncSession) -> None:
    """Make the session's reads one snapshot (PostgreSQL: REPEATABLE READ; SQLite's read transaction is one), so
    that the head and the records verified are of one moment while appenders go on."""
    if session.get_bind().dialect.name == "postgresql":
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


async def records_after(session: AsyncSession, sequence: int, *, limit: int) -> list[AuditRecord]:
    """The records after ``sequence`` in sequence order, at most ``limit``."""
    statement = select(AuditRecord).where(AuditRecord.sequence > sequence).order_by(AuditRecord.sequence)
    return list((await session.execute(statement.limit(limit))).scalars())


async def get(session: AsyncSession, sequence: int) -> AuditRecord | None:
    return await session.get(AuditRecord, sequence)


@dataclass(frozen=True, slots=True)
class Filters:
    tenant_id: str | None = None
    actor_kind: str | None = None
    actor_id: str | None = None
    action: str | None = None
    object_id: str | None = None
    outcome: str | None = None
    request_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


def _filtered(filters: Filters) -> Select[AuditRecord]:
    statement = select(AuditRecord)
    equal: dict[str, Any] = {
        "tenant_id": filters.tenant_id,
        "actor_kind": filters.actor_kind,
        "actor_id": filters.actor_id,
        "action": filters.action,
        "object_id": filters.object_id,
        "outcome": filters.outcome,
        "request_id": filters.request_id,
    }
    for name, value in equal.items():
        if value is not None:
            statement = statement.where(getattr(AuditRecord, name) == value)
    if filters.created_after is not None:
        statement = statement.where(AuditRecord.created_at >= filters.created_after)
    if filters.created_before is not None:
        statement = statement.where(AuditRecord.created_at <= filters.created_before)
    return statement


async def page_of(
    session: AsyncSession, filters: Filters, *, limit: int, after: int | None, before: int | None
) -> tuple[list[AuditRecord], bool]:
    """A page of the records that match, newest first (by sequence): those older than ``after`` or, going
    back, newer than ``before``; and whether there are more beyond it."""
    statement = _filtered(filters)
    if after is not None:
        statement = statement.where(AuditRecord.sequence < after)
    if before is not None:
        statement = statement.where(AuditRecord.sequence > before)
    order = AuditRecord.sequence.asc() if before is not None else AuditRecord.sequence.desc()
    rows = list((await session.execute(statement.order_by(order).limit(limit + 1))).scalars())
    has_more = len(rows) > limit
    rows = rows[:limit]
    if before is not None:
        rows.reverse()
    return rows, has_more
