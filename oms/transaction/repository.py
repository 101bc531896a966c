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
from oms.kit.batch import first_of_each, written_among
from oms.kit.ids import is_valid_id
from oms.kit.sql import BatchedLookup, RowsInsert
from oms.ledger import repository as ledger
from oms.models import ChainSend, Event, IdempotencyRecord, Quote, Transaction


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


async def unsettled_sends(session: AsyncSession, *, limit: int, skip_locked: bool, now: datetime) -> list[ChainSend]:
    """Final sends not yet applied, oldest first; one set aside after a failure (``postpone``) waits its turn."""
    statement = (
        select(ChainSend)
        .where(
            ChainSend.status.in_(("confirmed", "failed")),
            ChainSend.settled.is_(False),
            ChainSend.next_check_at <= now,
            ChainSend.purpose.in_(("transfer", "fee")),
        )
        .order_by(ChainSend.updated_at)
        .limit(limit)
    )
    if skip_locked:
        statement = statement.with_for_update(key_share=True, skip_locked=True)
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

# Executions written many at a time by one statement that refuses an execution by writing nothing of it rather
# than by raising, so that one refusal does not undo the others (``hot_execute_many``). In order:
# - each quote locked if it is still open and unexpired. A quote locked by anyone else (its twin executing in
#   another batch or through the endpoint) is skipped, not waited for: waiting for it while holding accounts
#   could close a cycle with that twin (quote, then accounts); the endpoint, which waits, then answers.
# - the source accounts of the executions still in, locked in id order, and an execution funded if no debit
#   takes its account below zero once every debit before it in the batch on that account is counted (on the
#   accounts' latest versions). A debit counts even if its execution is refused later, so an execution may be
#   refused that would have fitted; it then passes to the endpoint, which judges it again.
# - each funded execution's stored answer claims its Idempotency-Key (one taken already claims nothing);
# - only the executions whose answers did are written: the quote accepted, the transaction, its send and its
#   event, and the funds held (oms_post_entry, which cannot refuse what the guards let through).
# It gives the positions (``batch_index``) of the executions written.

# What an execution adds to its transaction's row: the tenant's clock and the hold's kind. The rest of what the
# statement needs of it (quote, tenant, time, the entry's reference) is the transaction's own columns.
_ITEM = "unnest($1::timestamptz[], $2::text[]) WITH ORDINALITY AS i(tenant_now, kind, batch_index)"
_LEG = (
    "unnest($3::bigint[], $4::bigint[], $5::text[], $6::bigint[]) WITH ORDINALITY"
    " AS l(batch_index, account, currency, amount, leg)"
)
_RECORD = RowsInsert(IdempotencyRecord, first_parameter=7, alias="r")
_TRANSACTION = RowsInsert(Transaction, first_parameter=_RECORD.size + 7, alias="t")
_SEND = RowsInsert(ChainSend, first_parameter=_RECORD.size + _TRANSACTION.size + 7, alias="s")
_EVENT = RowsInsert(Event, first_parameter=_RECORD.size + _TRANSACTION.size + _SEND.size + 7, alias="e")
_EXECUTE = f"""
WITH item AS MATERIALIZED (
       SELECT t.batch_index, t.quote_id, t.tenant_id, t.id AS reference, t.created_at AS at, i.tenant_now, i.kind
         FROM {_TRANSACTION.source} JOIN {_ITEM} USING (batch_index)),
     leg AS MATERIALIZED (SELECT * FROM {_LEG}),
     open_quote AS MATERIALIZED (
       SELECT i.batch_index FROM quotes q JOIN item i ON q.id = i.quote_id
        WHERE q.status = 'open' AND q.expires_at > i.tenant_now
          FOR NO KEY UPDATE OF q SKIP LOCKED),
     account AS MATERIALIZED (
       SELECT a.id, a.balance FROM ledger_accounts a
        WHERE a.id IN (SELECT l.account FROM leg l JOIN open_quote USING (batch_index))
        ORDER BY a.id FOR NO KEY UPDATE),
     funded AS MATERIALIZED (
       SELECT batch_index FROM (
         SELECT l.batch_index, l.amount,
                a.balance + sum(least(l.amount, 0)) OVER (PARTITION BY l.account ORDER BY l.batch_index) AS after
           FROM leg l JOIN open_quote USING (batch_index) JOIN account a ON a.id = l.account) AS debit
        GROUP BY batch_index
       HAVING bool_and(amount >= 0 OR after >= 0)),
     claimed AS ({_RECORD.insert("JOIN funded USING (batch_index)")} ON CONFLICT DO NOTHING RETURNING tenant_id, key),
     written AS MATERIALIZED (
       SELECT r.batch_index FROM {_RECORD.source} JOIN claimed c ON c.tenant_id = r.tenant_id AND c.key = r.key),
     accepted AS (
       UPDATE quotes q SET status = 'accepted', accepted_at = i.at
         FROM item i JOIN written USING (batch_index) WHERE q.id = i.quote_id),
     created AS ({_TRANSACTION.insert("JOIN written USING (batch_index)")}),
     queued AS ({_SEND.insert("JOIN written USING (batch_index)")}),
     emitted AS ({_EVENT.insert("JOIN written USING (batch_index)")}),
     held AS (
       SELECT i.batch_index,
              oms_post_entry(i.tenant_id, i.kind, i.reference, i.at, array_agg(l.account ORDER BY l.leg),
                             array_agg(l.currency ORDER BY l.leg), array_agg(l.amount ORDER BY l.leg)) AS entry
         FROM item i JOIN written USING (batch_index) JOIN leg l USING (batch_index)
        GROUP BY i.batch_index, i.tenant_id, i.kind, i.reference, i.at)
SELECT batch_index FROM held
"""  # noqa: S608 (the names are our model's)


@dataclass(frozen=True, slots=True)
class HotExecution:
    """One execution for ``hot_execute_many``. ``hold``: the ledger entry's kind and legs."""

    quote: Quote
    tenant_now: datetime
    rows: tuple[Transaction, ChainSend, Event]
    hold: tuple[str, Sequence[tuple[int, str, int]]]
    record: IdempotencyRecord


def _parameters(executions: Sequence[HotExecution]) -> list[Any]:
    """``_EXECUTE``'s parameters: every execution's values, column by column."""
    legs = [(position, leg) for position, execution in enumerate(executions, start=1) for leg in execution.hold[1]]
    return [
        [execution.tenant_now for execution in executions], [execution.hold[0] for execution in executions],
        [position for position, _ in legs], *ledger.leg_arrays([leg for _, leg in legs]),
        *_RECORD.arrays([execution.record for execution in executions]),
        *_TRANSACTION.arrays([execution.rows[0] for execution in executions]),
        *_SEND.arrays([execution.rows[1] for execution in executions]),
        *_EVENT.arrays([execution.rows[2] for execution in executions]),
    ]  # fmt: skip


_CONTEXTS = BatchedLookup(_HOT_CONTEXT, ["text"] * 5)


def context_parameters(
    *, key_id: str, tenant_id: str, mode: str, idempotency_key: str, quote_id: str
) -> tuple[str, ...]:
    """One request's parameters for ``hot_contexts``."""
    return key_id, tenant_id, mode, idempotency_key, quote_id


async def hot_contexts(
    pool: asyncpg.Connection | asyncpg.Pool, parameter_sets: Sequence[tuple[str, ...]]
) -> list[asyncpg.Record | None]:
    """The context row of each request (``context_parameters``), in one round trip; None where there is none."""
    return await _CONTEXTS.fetch(pool, parameter_sets)


def quote_of(row: asyncpg.Record) -> Quote:
    """The quote a ``hot_contexts`` row holds, as a detached object."""
    values = {key: row[f"q_{column.name}"] for key, column in Quote.__mapper__.columns.items()}
    values["metadata_"] = orjson.loads(values["metadata_"])  # the driver's own connection leaves JSON as text
    return Quote(**values)


async def hot_execute_many(connection: asyncpg.Connection, executions: Sequence[HotExecution]) -> list[bool]:
    """Write executions in one statement; for each, whether it was written (False: its quote was no longer open
    or was being executed elsewhere, its funds were short or its Idempotency-Key was taken, by an earlier
    execution of the same batch too, and nothing of it was written). Raises the database's error, and then
    nothing at all was written."""
    kept = first_of_each(
        [(execution.record.tenant_id, execution.record.key) for execution in executions],
        [execution.quote.id for execution in executions],
    )
    rows = await connection.fetch(_EXECUTE, *_parameters([executions[index] for index in kept]))
    return written_among(len(executions), kept, (row["batch_index"] for row in rows))
