"""SQL of the hot path's quotes (oms/hotwrites.py); the endpoint's quotes go through the ORM in the service."""

from __future__ import annotations

import asyncpg

from oms.kit.sql import RowInsert
from oms.models import IdempotencyRecord, Quote, Wallet

_WALLET = "id, customer_id, asset, chain, address, key_index, status"

# Everything a new quote's rules read, with the key's check joined in: no row means "let the endpoint answer"
# (an unknown or revoked key, customer or source wallet). ``replay``: the Idempotency-Key is already taken.
_CONTEXT = f"""
SELECT EXISTS (SELECT 1 FROM idempotency_keys r WHERE r.tenant_id = k.tenant_id AND r.key = $4) AS replay,
       (SELECT offset_ms FROM tenant_clocks t WHERE t.tenant_id = k.tenant_id) AS offset_ms,
       c.status AS customer_status,
       ARRAY(SELECT e.name FROM endorsements e WHERE e.customer_id = c.id AND e.status = 'active') AS endorsements,
       {", ".join(f"s.{column} AS s_{column}" for column in _WALLET.split(", "))},
       {", ".join(f"d.{column} AS d_{column}" for column in _WALLET.split(", "))}
  FROM api_keys k
  JOIN customers c ON c.id = $5 AND c.tenant_id = k.tenant_id
  JOIN wallets s ON s.id = $6 AND s.tenant_id = k.tenant_id
  LEFT JOIN wallets d ON d.id = $7 AND d.tenant_id = k.tenant_id
 WHERE k.id = $1 AND k.tenant_id = $2 AND k.mode = $3 AND k.revoked_at IS NULL
"""  # noqa: S608 (the names are our model's columns)

_QUOTE = RowInsert(Quote, first_parameter=1, source="(SELECT 1) AS one")
_RECORD = RowInsert(IdempotencyRecord, first_parameter=_QUOTE.size + 1, source="created")
# The quote and the stored answer in one statement (one implicit transaction): both or neither. A concurrent
# request with the same key makes the second insert fail, and the whole statement with it.
_CREATE = f"WITH created AS ({_QUOTE.sql} RETURNING id) {_RECORD.sql}"


async def hot_context(
    connection: asyncpg.Connection, *, key_id: str, tenant_id: str, mode: str, idempotency_key: str,
    customer_id: str, source_wallet_id: str, destination_wallet_id: str | None,
) -> asyncpg.Record | None:  # fmt: skip
    return await connection.fetchrow(
        _CONTEXT, key_id, tenant_id, mode, idempotency_key, customer_id, source_wallet_id, destination_wallet_id
    )


def wallet_of(row: asyncpg.Record, prefix: str) -> Wallet | None:
    """The wallet a ``hot_context`` row holds under ``prefix`` (``s_``, ``d_``), as a detached object."""
    if row[f"{prefix}id"] is None:
        return None
    return Wallet(**{column: row[f"{prefix}{column}"] for column in _WALLET.split(", ")})


async def hot_create(connection: asyncpg.Connection, quote: Quote, record: IdempotencyRecord) -> None:
    await connection.execute(_CREATE, *_QUOTE.values(quote), *_RECORD.values(record))
