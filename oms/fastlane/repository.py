"""All SQL of the fast lane: its reads built from the domains' own rule expressions, and its batched writes.

The reads are Core statements composed of what the regular path's queries are built on (``live_key``,
``offset_of``, ``active_endorsement_names``, ``record_of``, ``balances_of``), so a rule is stated once and
compiled into both. Each also reads the key's stored scopes, which the caller judges with the endpoints' rule
(``oms.auth.scopes.covers``): no statement of its own for the key. The writes carry no rule of their own: they
insert what the services built, claim each Idempotency-Key and accept each quote only if still open (compare
and set), and post the hold through ``oms_post_entry``; the schema refuses an overdraft (docs/architecture.md,
"Money rules").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from sqlalchemy import BindParameter, ColumnElement, Select, and_, bindparam, exists, select
from sqlalchemy.orm import aliased

from oms.auth.repository import live_key
from oms.clock.repository import offset_of
from oms.controls.repository import checks_apply
from oms.customer.repository import active_endorsement_names
from oms.idempotency import record_of
from oms.kit.batch import first_of_each, written_among
from oms.kit.sql import BatchedLookup, RowsInsert, numbered
from oms.ledger import repository as ledger_repository
from oms.models import ApiKey, ChainSend, Customer, Event, IdempotencyRecord, LedgerAccount, Quote, Transaction, Wallet
from oms.wallet.repository import balances_by_kind, balances_of

# The parameters every read takes first: the token's key, its tenant, the server's mode and the server's time
# (a key's expiry).
_KEY = ("key_id", "tenant_id", "mode", "now")


def _param(name: str) -> BindParameter[str]:
    return bindparam(name)


def _caller() -> ColumnElement[bool]:
    # "now" takes the expiry column's type (timestamptz) from the comparison: cast from the batch's text arrays.
    return live_key(_param("key_id"), _param("tenant_id"), _param("mode"), bindparam("now"))


def _key_taken() -> ColumnElement[bool]:
    return exists().where(record_of(ApiKey.tenant_id, _param("idempotency_key")))


def _rule_columns() -> list[ColumnElement[Any]]:
    """What every money request's rules read besides its own rows: the key's scopes (``key_scopes``), whether
    its Idempotency-Key is taken (``replay``), whether a control applies to the tenant's movements (``controls``:
    then the endpoint answers, which asks them), the tenant's clock and the customer's status and active
    endorsements."""
    return [
        ApiKey.scopes.label("key_scopes"),
        _key_taken().label("replay"),
        checks_apply(ApiKey.tenant_id).label("controls"),
        offset_of(ApiKey.tenant_id).label("offset_ms"),
        Customer.status.label("customer_status"),
        active_endorsement_names(Customer.id).label("endorsements"),
    ]


# --- the balance read ---------------------------------------------------------------------------------

_BALANCES, _BALANCE_ORDER = numbered(
    balances_of(_param("wallet_id"), ApiKey.tenant_id).add_columns(ApiKey.scopes).where(_caller())
)


async def balances_for_key(
    connection: asyncpg.Connection, *, key_id: str, tenant_id: str, mode: str, now: datetime, wallet_id: str
) -> tuple[str, tuple[str, str, dict[str, int]]] | None:
    """The key's stored scopes and ``wallet.repository.get_with_balances`` for a live key of this tenant and
    mode at ``now``; None otherwise."""
    values = {"key_id": key_id, "tenant_id": tenant_id, "mode": mode, "now": now, "wallet_id": wallet_id}
    rows = await connection.fetch(_BALANCES, *(values[name] for name in _BALANCE_ORDER))
    found = balances_by_kind(rows)
    return None if found is None else (rows[0]["scopes"], found)


# --- the quote's read and write -----------------------------------------------------------------------

_WALLET_COLUMNS = ("id", "customer_id", "asset", "chain", "address", "key_index", "status")
_QUOTE_PARAMETERS = (*_KEY, "idempotency_key", "customer_id", "source_wallet_id", "destination_wallet_id")


def _quote_context() -> Select[*tuple[Any, ...]]:
    """Everything a new quote's rules read, with the key's check joined in: no row means "let the endpoint
    answer" (an unknown or revoked key, customer or source wallet). ``replay``: the Idempotency-Key is taken."""
    source, destination = aliased(Wallet, name="s"), aliased(Wallet, name="d")
    return (
        select(
            *_rule_columns(),
            *(getattr(source, column).label(f"s_{column}") for column in _WALLET_COLUMNS),
            *(getattr(destination, column).label(f"d_{column}") for column in _WALLET_COLUMNS),
        )
        .select_from(ApiKey)
        .join(Customer, and_(Customer.id == _param("customer_id"), Customer.tenant_id == ApiKey.tenant_id))
        .join(source, and_(source.id == _param("source_wallet_id"), source.tenant_id == ApiKey.tenant_id))
        .outerjoin(
            destination,
            and_(destination.id == _param("destination_wallet_id"), destination.tenant_id == ApiKey.tenant_id),
        )
        .where(_caller())
    )


QUOTE_CONTEXTS = BatchedLookup(_quote_context(), _QUOTE_PARAMETERS)


def wallet_of(row: asyncpg.Record, prefix: str) -> Wallet | None:
    """The wallet a quote context row holds under ``prefix`` (``s_``, ``d_``), as a detached object."""
    if row[f"{prefix}id"] is None:
        return None
    return Wallet(**{column: row[f"{prefix}{column}"] for column in _WALLET_COLUMNS})


_QUOTE_RECORD = RowsInsert(IdempotencyRecord, first_parameter=1, alias="r")
_QUOTE = RowsInsert(Quote, first_parameter=_QUOTE_RECORD.size + 1, alias="q")
# New quotes with their stored answers in one statement that refuses a quote by writing nothing of it rather
# than by raising, so that one refusal does not undo the others: each stored answer claims its
# Idempotency-Key first, and only the quotes whose answers did are written. It gives the positions
# (``batch_index``) of the quotes written.
CREATE_QUOTES = f"""
WITH claimed AS ({_QUOTE_RECORD.insert()} ON CONFLICT DO NOTHING RETURNING tenant_id, key),
     written AS MATERIALIZED (SELECT r.batch_index FROM {_QUOTE_RECORD.source}
                               JOIN claimed c ON c.tenant_id = r.tenant_id AND c.key = r.key),
     created AS ({_QUOTE.insert("JOIN written USING (batch_index)")})
SELECT batch_index FROM written
"""  # noqa: S608 (the names are our model's)


async def create_quotes(
    connection: asyncpg.Connection, quotes: Sequence[tuple[Quote, IdempotencyRecord]]
) -> list[bool]:
    """Write new quotes, each with its stored answer, in one statement; for each, whether it was written (False:
    its Idempotency-Key was taken, by an earlier quote of the same batch too, and nothing of it was written).
    Raises the database's error, and then nothing at all was written."""
    kept = first_of_each([(record.tenant_id, record.key) for _, record in quotes])
    records, created = [quotes[index][1] for index in kept], [quotes[index][0] for index in kept]
    rows = await connection.fetch(CREATE_QUOTES, *_QUOTE_RECORD.arrays(records), *_QUOTE.arrays(created))
    return written_among(len(quotes), kept, (row["batch_index"] for row in rows))


# --- the execution's read and write -------------------------------------------------------------------

_QUOTE_COLUMNS = [column.name for column in Quote.__table__.columns]
_EXECUTION_PARAMETERS = (*_KEY, "idempotency_key", "quote_id")


def _execution_context() -> Select[*tuple[Any, ...]]:
    """Everything an execution's rules read, with the key's check joined in: no row means "let the endpoint
    answer"."""
    quote = Quote.__table__
    source, destination = aliased(Wallet, name="s"), aliased(Wallet, name="d")
    available, held = aliased(LedgerAccount, name="a"), aliased(LedgerAccount, name="h")
    return (
        select(
            *_rule_columns(),
            *(quote.c[column].label(f"q_{column}") for column in _QUOTE_COLUMNS),
            source.address.label("source_address"),
            source.key_index.label("source_key_index"),
            destination.customer_id.label("recipient_customer_id"),
            available.id.label("available_id"),
            held.id.label("held_id"),
        )
        .select_from(ApiKey)
        .join(quote, and_(quote.c.id == _param("quote_id"), quote.c.tenant_id == ApiKey.tenant_id))
        .join(Customer, Customer.id == quote.c.customer_id)
        .join(source, source.id == quote.c.source_wallet_id)
        .outerjoin(destination, destination.id == quote.c.destination_wallet_id)
        .join(available, and_(available.wallet_id == source.id, available.kind == "available"))
        .join(held, and_(held.wallet_id == source.id, held.kind == "held"))
        .where(_caller())
    )


EXECUTION_CONTEXTS = BatchedLookup(_execution_context(), _EXECUTION_PARAMETERS)


def quote_of(row: asyncpg.Record) -> Quote:
    """The quote an execution context row holds, as a detached object."""
    values = {key: row[f"q_{column.name}"] for key, column in Quote.__mapper__.columns.items()}
    values["metadata_"] = orjson.loads(values["metadata_"])  # the driver's own connection leaves JSON as text
    return Quote(**values)


# Executions written many at a time by one statement that refuses an execution by writing nothing of it rather
# than by raising, so that one refusal does not undo the others. In order:
# - each quote locked if it is still open (compare and set: the service judged it open and unexpired on the
#   read). A quote locked by anyone else (its twin executing in another batch or through the endpoint) is
#   skipped, not waited for: waiting for it while holding accounts could close a cycle with that twin (quote,
#   then accounts); the endpoint, which waits, then answers.
# - the source accounts of the executions still in, locked in id order (one global lock order; an unused
#   CTE would not run, so the claim below waits for it);
# - each execution's stored answer claims its Idempotency-Key (one taken already claims nothing);
# - only the executions whose answers did are written: the quote accepted, the transaction, its send and its
#   event, and the funds held by ``oms_post_entry``. An overdraft is refused by the schema: the statement then
#   raises and wrote nothing (``execute_many``'s caller runs the executions again one by one).
# It gives the positions (``batch_index``) of the executions written.
_ITEM = "unnest($1::text[]) WITH ORDINALITY AS i(kind, batch_index)"
_LEG = (
    "unnest($2::bigint[], $3::bigint[], $4::text[], $5::bigint[]) WITH ORDINALITY"
    " AS l(batch_index, account, currency, amount, leg)"
)
_RECORD = RowsInsert(IdempotencyRecord, first_parameter=6, alias="r")
_TRANSACTION = RowsInsert(Transaction, first_parameter=_RECORD.size + 6, alias="t")
_SEND = RowsInsert(ChainSend, first_parameter=_RECORD.size + _TRANSACTION.size + 6, alias="s")
_EVENT = RowsInsert(Event, first_parameter=_RECORD.size + _TRANSACTION.size + _SEND.size + 6, alias="e")
EXECUTE = f"""
WITH item AS MATERIALIZED (
       SELECT t.batch_index, t.quote_id, t.tenant_id, t.id AS reference, t.created_at AS at, i.kind
         FROM {_TRANSACTION.source} JOIN {_ITEM} USING (batch_index)),
     leg AS MATERIALIZED (SELECT * FROM {_LEG}),
     open_quote AS MATERIALIZED (
       SELECT i.batch_index FROM quotes q JOIN item i ON q.id = i.quote_id
        WHERE q.status = 'open'
          FOR NO KEY UPDATE OF q SKIP LOCKED),
     locked AS MATERIALIZED (
       SELECT count(*) AS accounts FROM (
         SELECT a.id FROM ledger_accounts a
          WHERE a.id IN (SELECT l.account FROM leg l JOIN open_quote USING (batch_index))
          ORDER BY a.id FOR NO KEY UPDATE) AS account),
     claimed AS ({_RECORD.insert("JOIN open_quote USING (batch_index) CROSS JOIN locked")}
                 ON CONFLICT DO NOTHING RETURNING tenant_id, key),
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


# Every statement above with what each of its parameters ($1, $2, …) holds: bench/sql.py writes the benchmark's
# SQL from them (the database alone running exactly what the server runs).
STATEMENTS: dict[str, tuple[str, list[str]]] = {
    "balance": (_BALANCES, _BALANCE_ORDER),
    "quote_contexts": (QUOTE_CONTEXTS.sql, QUOTE_CONTEXTS.parameters),
    "create_quotes": (CREATE_QUOTES, [*_QUOTE_RECORD.parameters, *_QUOTE.parameters]),
    "execution_contexts": (EXECUTION_CONTEXTS.sql, EXECUTION_CONTEXTS.parameters),
    "execute": (
        EXECUTE,
        [
            "item.kind", "leg.batch_index", "leg.account", "leg.currency", "leg.amount",
            *_RECORD.parameters, *_TRANSACTION.parameters, *_SEND.parameters, *_EVENT.parameters,
        ],
    ),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Execution:
    """One execution for ``execute_many``: the rows the service planned, its hold (the ledger entry's kind and
    its legs, validated by ``ledger.service.entry_rows``) and its stored answer."""

    quote_id: str
    rows: tuple[Transaction, ChainSend, Event]
    hold: tuple[str, Sequence[tuple[int, str, int]]]
    record: IdempotencyRecord


def _parameters(executions: Sequence[Execution]) -> list[Any]:
    """``EXECUTE``'s parameters: every execution's values, column by column."""
    legs = [(position, leg) for position, execution in enumerate(executions, start=1) for leg in execution.hold[1]]
    return [
        [execution.hold[0] for execution in executions],
        [position for position, _ in legs], *ledger_repository.leg_arrays([leg for _, leg in legs]),
        *_RECORD.arrays([execution.record for execution in executions]),
        *_TRANSACTION.arrays([execution.rows[0] for execution in executions]),
        *_SEND.arrays([execution.rows[1] for execution in executions]),
        *_EVENT.arrays([execution.rows[2] for execution in executions]),
    ]  # fmt: skip


async def execute_many(connection: asyncpg.Connection, executions: Sequence[Execution]) -> list[bool]:
    """Write executions in one statement; for each, whether it was written (False: its quote was no longer open
    or was being executed elsewhere, or its Idempotency-Key was taken, by an earlier execution of the same
    batch too, and nothing of it was written). Raises the database's error (an overdraft is the schema's
    refusal, ``ledger.repository.refusal``), and then nothing at all was written."""
    kept = first_of_each(
        [(execution.record.tenant_id, execution.record.key) for execution in executions],
        [execution.quote_id for execution in executions],
    )
    rows = await connection.fetch(EXECUTE, *_parameters([executions[index] for index in kept]))
    return written_among(len(executions), kept, (row["batch_index"] for row in rows))
