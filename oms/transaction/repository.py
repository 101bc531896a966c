"""All SQL for transactions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.auth.repository import HOT_LIVE_KEY
from oms.clock.repository import HOT_OFFSET
from oms.customer.repository import HOT_ACTIVE_ENDORSEMENTS
from oms.idempotency import HOT_KEY_TAKEN
from oms.kit.ids import is_valid_id
from oms.kit.sql import BatchedLookup, RowInsert
from oms.ledger import repository as ledger
from oms.models import ChainSend, Event, IdempotencyRecord, Quote, Transaction


async def get(
    session: AsyncSession, tenant_id: str, transaction_id: str, *, for_update: bool = False
) -> Transaction | None:
    if not is_valid_id(transaction_id, "txn"):
        return None
    statement = select(Transaction).where(Transaction.id == transaction_id, Transaction.tenant_id == tenant_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


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


async def unsettled_sends(session: AsyncSession, *, limit: int, skip_locked: bool) -> list[ChainSend]:
    statement = (
        select(ChainSend)
        .where(
            ChainSend.status.in_(("confirmed", "failed")),
            ChainSend.settled.is_(False),
            ChainSend.purpose.in_(("transfer", "fee")),
        )
        .order_by(ChainSend.updated_at)
        .limit(limit)
    )
    if skip_locked:
        statement = statement.with_for_update(skip_locked=True)
    return list((await session.execute(statement)).scalars())


# --- the hot path's execution (oms/hotwrites.py) ------------------------------------------------------

_QUOTE_COLUMNS = [column.name for column in Quote.__table__.columns]
# Everything an execution's rules read, with the key's check joined in: no row means "let the endpoint answer".
_HOT_CONTEXT = f"""
SELECT {HOT_KEY_TAKEN} AS replay, {HOT_OFFSET} AS offset_ms,
       {", ".join(f"q.{column} AS q_{column}" for column in _QUOTE_COLUMNS)},
       c.status AS customer_status,
       {HOT_ACTIVE_ENDORSEMENTS} AS endorsements,
       s.address AS source_address, s.key_index AS source_key_index,
       d.customer_id AS recipient_customer_id,
       a.id AS available_id, a.balance AS available, h.id AS held_id
  FROM api_keys k
  JOIN quotes q ON q.id = $5 AND q.tenant_id = k.tenant_id
  JOIN customers c ON c.id = q.customer_id
  JOIN wallets s ON s.id = q.source_wallet_id
  LEFT JOIN wallets d ON d.id = q.destination_wallet_id
  JOIN ledger_accounts a ON a.wallet_id = s.id AND a.kind = 'available'
  JOIN ledger_accounts h ON h.wallet_id = s.id AND h.kind = 'held'
 WHERE {HOT_LIVE_KEY}
"""  # noqa: S608 (the names are our model's columns)

# An execution in one statement that refuses by writing nothing rather than by raising, so that many of them
# can share one transaction (``hot_execute_many``). In order: the quote locked if it is still open and
# unexpired, then the entry's accounts locked in id order if no debit would overdraw them (re-checked on their
# latest versions), then the stored answer claimed (a key already taken, even by an earlier execution of the
# same batch, claims nothing); only then the quote accepted, the transaction, its send and its event written
# and the funds held (oms_post_entry, which cannot refuse what the guards let through). It gives the number of
# entries written: 1, or 0 and nothing written.
# A quote locked by anyone else (its twin executing in another batch or through the endpoint) is skipped, not
# waited for: a batch then never waits for a quote while it holds the accounts of earlier executions, which is
# the wait that could close a cycle with a twin's batch or a regular execution (quote, then accounts). The
# skipped execution passes to the endpoint, which waits for the lock and answers.
_OPEN_QUOTE = (
    "SELECT id FROM quotes WHERE id = $2 AND status = 'open' AND expires_at > $3 FOR NO KEY UPDATE SKIP LOCKED"
)
_FUNDED = """SELECT a.id FROM open_quote, ledger_accounts a
  JOIN unnest($7::bigint[], $9::bigint[]) AS leg (account_id, amount) ON leg.account_id = a.id
 WHERE leg.amount >= 0 OR a.balance + leg.amount >= 0
 ORDER BY a.id FOR UPDATE OF a"""
_ACCEPT = "UPDATE quotes SET status = 'accepted', accepted_at = $1 WHERE id = $2 AND EXISTS (SELECT 1 FROM claimed)"
_HOLD = "SELECT oms_post_entry($4::text, $5::text, $6::text, $1, $7::bigint[], $8::text[], $9::bigint[])"
_RECORD = RowInsert(
    IdempotencyRecord,
    first_parameter=10,
    source="(SELECT 1) AS one WHERE (SELECT count(*) FROM funded) = cardinality($7::bigint[])",
)
_TRANSACTION = RowInsert(Transaction, first_parameter=_RECORD.size + 10, source="claimed")
_SEND = RowInsert(ChainSend, first_parameter=_RECORD.size + _TRANSACTION.size + 10, source="claimed")
_EVENT = RowInsert(Event, first_parameter=_RECORD.size + _TRANSACTION.size + _SEND.size + 10, source="claimed")
_EXECUTE = f"""
WITH open_quote AS MATERIALIZED ({_OPEN_QUOTE}),
     funded AS MATERIALIZED ({_FUNDED}),
     claimed AS ({_RECORD.sql} ON CONFLICT DO NOTHING RETURNING 1),
     accepted AS ({_ACCEPT}),
     created AS ({_TRANSACTION.sql} RETURNING id),
     queued AS ({_SEND.sql}),
     emitted AS ({_EVENT.sql}),
     hold AS ({_HOLD} AS entry FROM created)
SELECT count(*) AS written FROM hold
"""  # noqa: S608 (the names are our model's)


@dataclass(frozen=True, slots=True)
class HotExecution:
    """One execution for ``hot_execute_many``. ``hold``: the ledger entry's kind and legs."""

    quote: Quote
    tenant_now: datetime
    rows: tuple[Transaction, ChainSend, Event]
    hold: tuple[str, Sequence[tuple[int, str, int]]]
    record: IdempotencyRecord

    def lock_order(self) -> tuple[int, str]:
        """Executions sharing a transaction lock their quote, then their accounts: taken in the order of the
        first account and then the quote, two batches can never wait for each other's locks."""
        _, legs = self.hold
        return min(leg[0] for leg in legs), self.quote.id

    def parameters(self) -> list[Any]:
        transaction, send, event = self.rows
        kind, legs = self.hold
        return [
            transaction.created_at, self.quote.id, self.tenant_now, transaction.tenant_id, kind, transaction.id,
            *ledger.leg_arrays(legs),
            *_RECORD.values(self.record), *_TRANSACTION.values(transaction), *_SEND.values(send),
            *_EVENT.values(event),
        ]  # fmt: skip


_CONTEXTS = BatchedLookup(_HOT_CONTEXT, ["text"] * 5)


def context_parameters(
    *, key_id: str, tenant_id: str, mode: str, idempotency_key: str, quote_id: str
) -> tuple[str, ...]:
    """One request's parameters for ``hot_contexts``."""
    return key_id, tenant_id, mode, idempotency_key, quote_id


async def hot_contexts(pool: asyncpg.Pool, parameter_sets: Sequence[tuple[str, ...]]) -> list[asyncpg.Record | None]:
    """The context row of each request (``context_parameters``), in one round trip; None where there is none."""
    return await _CONTEXTS.fetch(pool, parameter_sets)


def quote_of(row: asyncpg.Record) -> Quote:
    """The quote a ``hot_contexts`` row holds, as a detached object."""
    values = {key: row[f"q_{column.name}"] for key, column in Quote.__mapper__.columns.items()}
    values["metadata_"] = orjson.loads(values["metadata_"])  # the driver's own connection leaves JSON as text
    return Quote(**values)


async def hot_execute_many(connection: asyncpg.Connection, executions: Sequence[HotExecution]) -> list[bool]:
    """Write executions in one transaction, in lock order; for each, whether it was written (False: its quote
    was no longer open, its funds were short or its Idempotency-Key was taken, and nothing of it was written).
    Raises the database's error, and then nothing at all was written."""
    order = sorted(range(len(executions)), key=lambda index: executions[index].lock_order())
    rows = await connection.fetchmany(_EXECUTE, [executions[index].parameters() for index in order])
    written = [False] * len(executions)
    for index, row in zip(order, rows, strict=True):
        written[index] = row["written"] == 1
    return written
