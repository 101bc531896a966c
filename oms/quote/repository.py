"""SQL of the hot path's quotes (oms/hotwrites.py); the endpoint's quotes go through the ORM in the service."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from oms.auth.repository import HOT_LIVE_KEY
from oms.clock.repository import HOT_OFFSET
from oms.customer.repository import HOT_ACTIVE_ENDORSEMENTS
from oms.idempotency import HOT_KEY_TAKEN
from oms.kit.sql import BatchedLookup, RowInsert
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

_RECORD = RowInsert(IdempotencyRecord, first_parameter=1, source="(SELECT 1) AS one")
_QUOTE = RowInsert(Quote, first_parameter=_RECORD.size + 1, source="claimed")
# A new quote and its stored answer in one statement that refuses by writing nothing rather than by raising, so
# that many of them can share one transaction (``hot_create_many``): the stored answer claims the
# Idempotency-Key first, and the quote is written only if it did. It gives the number of quotes written.
_CREATE = f"""
WITH claimed AS ({_RECORD.sql} ON CONFLICT DO NOTHING RETURNING 1),
     created AS ({_QUOTE.sql} RETURNING 1)
SELECT count(*) AS written FROM created
"""  # noqa: S608 (the names are our model's)


_CONTEXTS = BatchedLookup(_CONTEXT, ["text"] * 7)


def context_parameters(
    *, key_id: str, tenant_id: str, mode: str, idempotency_key: str,
    customer_id: str, source_wallet_id: str, destination_wallet_id: str | None,
) -> tuple[str | None, ...]:  # fmt: skip
    """One request's parameters for ``hot_contexts``."""
    return key_id, tenant_id, mode, idempotency_key, customer_id, source_wallet_id, destination_wallet_id


async def hot_contexts(
    pool: asyncpg.Pool, parameter_sets: Sequence[tuple[str | None, ...]]
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
    """Write new quotes, each with its stored answer, in one transaction; for each, whether it was written
    (False: its Idempotency-Key was taken, and nothing of it was written). Raises the database's error, and then
    nothing at all was written."""
    rows = await connection.fetchmany(
        _CREATE, [[*_RECORD.values(record), *_QUOTE.values(quote)] for quote, record in quotes]
    )
    return [row["written"] == 1 for row in rows]
