"""Batched lookups (oms/kit/sql.py): many parameter sets, one statement, each set its own row or None."""

from __future__ import annotations

import pytest

from oms.context import AppContext
from oms.kit.sql import BatchedLookup


async def test_a_batched_lookup_gives_each_parameter_set_its_row_in_order(ctx: AppContext, is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("the driver's own pool exists on PostgreSQL only")
    assert ctx.db.hot_pool is not None
    lookup = BatchedLookup("SELECT $1 * 2 AS doubled, $3 AS label WHERE $2", ["int", "bool", "text"])
    found = await lookup.fetch(ctx.db.hot_pool, [(1, True, "a"), (2, False, "b"), (3, True, None), (1, True, "a")])
    assert [None if row is None else (row["doubled"], row["label"]) for row in found] == [
        (2, "a"),
        None,
        (6, None),
        (2, "a"),
    ]
