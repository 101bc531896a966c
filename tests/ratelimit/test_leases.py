"""The PostgreSQL store leases shares of a window to each process: far from a limit, few writes; together the
processes never admit more than the limit, and lose at most a small share of it to leases left unused."""

from __future__ import annotations

import uuid

import pytest

from oms.config import Settings
from oms.context import AppContext
from oms.ratelimit.postgres import PostgresStorage

LIMIT = 2_000
HITS = 2_500


async def test_two_processes_leasing_never_admit_more_than_the_limit(settings: Settings, ctx: AppContext) -> None:
    if settings.is_sqlite:
        pytest.skip("the PostgreSQL store (SQLite counts in memory)")
    processes = [PostgresStorage(ctx.db, settings), PostgresStorage(ctx.db, settings)]
    key = f"test-leases-{uuid.uuid4().hex}"
    admitted = 0
    for turn in range(HITS):
        [(count, _)] = await processes[turn % 2].hit([(key, 60, LIMIT)])
        admitted += count <= LIMIT
    # each process may strand at most a 64th of what was left when it last leased
    assert LIMIT - 2 * (LIMIT // 64) <= admitted <= LIMIT
    for storage in processes:
        await storage.close()


async def test_far_from_the_limit_a_process_writes_once_per_lease_not_per_hit(
    settings: Settings, ctx: AppContext
) -> None:
    if settings.is_sqlite:
        pytest.skip("the PostgreSQL store (SQLite counts in memory)")
    storage = PostgresStorage(ctx.db, settings)
    key = f"test-leases-{uuid.uuid4().hex}"
    counts = [(await storage.hit([(key, 60, 1_000_000)]))[0][0] for _ in range(5_000)]
    assert counts == list(range(1, 5_001))  # one process's leases are contiguous: its counts are exact
    assert storage.statements <= 6  # one hit, then leases of 1,024
    await storage.close()


async def test_near_the_limit_hits_are_counted_one_by_one(settings: Settings, ctx: AppContext) -> None:
    if settings.is_sqlite:
        pytest.skip("the PostgreSQL store (SQLite counts in memory)")
    first, second = PostgresStorage(ctx.db, settings), PostgresStorage(ctx.db, settings)
    key = f"test-leases-{uuid.uuid4().hex}"
    counts = [(await (first if turn % 2 else second).hit([(key, 60, 50)]))[0][0] for turn in range(60)]
    assert counts == list(range(1, 61))  # a limit this small leases one hit at a time: exact
    await first.close()
    await second.close()
