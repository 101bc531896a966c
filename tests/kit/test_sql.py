"""Batched lookups (oms/kit/sql.py): many parameter sets, one statement, each set its own row or None."""

from __future__ import annotations

import pytest
from sqlalchemy import Boolean, Integer, bindparam, select

from oms.context import AppContext
from oms.kit.sql import BatchedLookup


async def test_a_batched_lookup_gives_each_parameter_set_its_row_in_order(ctx: AppContext, is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("the driver's own pool exists on PostgreSQL only")
    assert ctx.db.hot_pool is not None
    number, keep, label = bindparam("number", type_=Integer), bindparam("keep", type_=Boolean), bindparam("label")
    statement = select((number * 2).label("doubled"), label.label("label")).where(keep)
    lookup = BatchedLookup(statement, ["number", "keep", "label"])  # each set's values, as text, in this order
    sets = [("1", "true", "a"), ("2", "false", "b"), ("3", "true", None), ("1", "true", "a")]
    found = await lookup.fetch(ctx.db.hot_pool, sets)
    assert [None if row is None else (row["doubled"], row["label"]) for row in found] == [
        (2, "a"),
        None,
        (6, None),
        (2, "a"),
    ]
