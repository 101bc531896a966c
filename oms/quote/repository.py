"""SQL of the hot path's quotes (oms/hotwrites.py); the endpoint's quotes go through the ORM in the service."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from oms.auth.repository import HOT_LIVE_KEY
from oms.clock.repository import HOT_OFFSET
from oms.customer.repository import HOT_ACTIVE_ENDORSEMENTS
from oms.idempotency import HOT_KEY_TAKEN
from oms.kit.batch import first_of_each, written_among
from oms.kit.sql import BatchedLookup, RowsInsert
from oms.models import IdempotencyRecord, Quote, Wallet

_WALLET = "id, customer_id, asset, chain, address, key_index, status"

# Everything a new quote's rules read, with the key's check joined in: no row means "let the endpoint answer"
# (an unknown or revoked key, customer or source wallet). ``replay``: the Idempotency-Key is already taken.
_CONTEXT = f"""
SELECT {HOT_KEY_TAKEN} AS replay, {HOT_OFFSET} AS offset_ms,
       c.status AS customer_status,
       {HOT_ACTIVE_ENDORSEMENTS} AS endorsements,
       {", ".join(f"s.{column} AS s_{column}" for column in _WALLET.split(", "))},
       {", ".join(f"d.{column} AS d_{column}" for column in _WALLET.split(", "))}
  FROM api_keys k
  JOIN customers c ON c.id = $5 AND c.tenant_id = k.tenant_id
  JOIN wallets s ON s.id = $6 AND s.tenant_id = k.tenant_id
  LEFT JOIN wallets d ON d.id = $7 AND d.tenant_id = k.tenant_id
 WHERE {HOT_LIVE_KEY}
"""  # noqa: S608 (the names are our model's columns)

_RECORD = RowsInsert(IdempotencyRecord, first_parameter=1, alias="r")
_QUOTE = RowsInsert(Quote, first_parameter=_RECORD.size + 1, alias="q")
# New quotes with their stored answers in one statement that refuses a quote by writing nothing of it rather
# than by raising, so that one refusal does not undo the others (``hot_create_many``): each stored answer
# claims its Idempotency-Key first, and only the quotes whose answers did are written. It gives the positions
# (``batch_index``) of the quotes written.
_CREATE = f"""
WITH claimed AS ({_RECORD.insert()} ON CONFLICT DO NOTHING RETURNING tenant_id, key),
     written AS MATERIALIZED (SELECT r.batch_index FROM {_RECORD.source}
                               JOIN claimed c ON c.tenant_id = r.tenant_id AND c.key = r.key),
     created AS ({_QUOTE.insert("JOIN written USING (batch_index)")})
SELECT batch_index FROM written
"""  # noqa: S608 (the names are our model's)


_CONTEXTS = BatchedLookup(_CONTEXT, ["text"] * 7)


def context_parameters(
    *, key_id: str, tenant_id: str, mode: str, idempotency_key: str,
    customer_id: str, source_wallet_id: str, destination_wallet_id: str | None,
) -> tuple[str | None, ...]:  # fmt: skip
    """One request's parameters for ``hot_contexts``."""
    return key_id, tenant_id, mode, idempotency_key, customer_id, source_wallet_id, destination_wallet_id


async def hot_contexts(
    pool: asyncpg.Connection | asyncpg.Pool, parameter_sets: Sequence[tuple[str | None, ...]]
) -> list[asyncpg.Record | None]:
    """The context row of each request (``context_parameters``), in one round trip; None where there is none."""
    return await _CONTEXTS.fetch(pool, parameter_sets)


def wallet_of(row: asyncpg.Record, prefix: str) -> Wallet | None:
    """The wallet a ``hot_contexts`` row holds under ``prefix`` (``s_``, ``d_``), as a detached object."""
    if row[f"{prefix}id"] is None:
        return None
    return Wallet(**{column: row[f"{prefix}{column}"] for column in _WALLET.split(", ")})


async def hot_create_many(
    connection: asyncpg.Connection, quotes: Sequence[tuple[Quote, IdempotencyRecord]]
) -> list[bool]:
    """Write new quotes, each with its stored answer, in one statement; for each, whether it was written (False:
    its Idempotency-Key was taken, by an earlier quote of the same batch too, and nothing of it was written).
    Raises the database's error, and then nothing at all was written."""
    kept = first_of_each([(record.tenant_id, record.key) for _, record in quotes])
    records, created = [quotes[index][1] for index in kept], [quotes[index][0] for index in kept]
    rows = await connection.fetch(_CREATE, *_RECORD.arrays(records), *_QUOTE.arrays(created))
    return written_among(len(quotes), kept, (row["batch_index"] for row in rows))
