"""The connection budget (README, "Connection budget"): the default pools of several API processes, a worker
and CLI commands fit a stock PostgreSQL; `oms serve` warns in one line when its processes could open more
connections than the database allows; idle connections are released."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time

import asyncpg
import pytest
from sqlalchemy import text

from oms.config import Settings
from oms.db import Database, connection_allowance, warn_if_over_budget
from tests.support import POSTGRES_URL, free_port, process_env

# What the README promises a stock PostgreSQL (max_connections 100, 3 reserved for superusers) holds with the
# defaults: four API processes, one `oms worker`, and room for CLI commands and an operator's psql.
STOCK_ALLOWANCE = 100 - 3
API_PROCESSES, WORKERS, CLI_ROOM = 4, 1, 10


@pytest.fixture
def postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("the budget is PostgreSQL's max_connections")


def test_default_pools_fit_a_stock_postgresql() -> None:
    defaults = Settings(database_url="postgresql://db/oms")
    api = defaults.connections_per_process()
    worker = defaults.connections_per_process(serves=False)
    assert (api, worker) == (18, 12)
    assert API_PROCESSES * api + WORKERS * worker + CLI_ROOM <= STOCK_ALLOWANCE


@pytest.mark.usefixtures("postgres_only")
async def test_default_pools_fit_the_test_database(settings: Settings) -> None:
    allowed = await connection_allowance(settings)
    assert allowed == STOCK_ALLOWANCE  # the CI's PostgreSQL is a stock one
    defaults = settings.model_copy(update=_default_pools())
    assert await warn_if_over_budget(defaults, API_PROCESSES) == API_PROCESSES * 18


@pytest.mark.usefixtures("postgres_only")
async def test_over_budget_pools_log_one_warning_line(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    greedy = settings.model_copy(update={"db_pool_size": 25, "db_max_overflow": 15, "db_hot_pool_size": 8})
    with caplog.at_level(logging.WARNING, logger="oms.db"):
        assert await warn_if_over_budget(greedy, 3) == 144
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert (
        "3 process(es) x (OMS_DB_POOL_SIZE 25 + OMS_DB_MAX_OVERFLOW 15 + OMS_DB_HOT_POOL_SIZE 8) = 144" in warnings[0]
    )
    assert f"allows {STOCK_ALLOWANCE}" in warnings[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="oms.db"):
        await warn_if_over_budget(settings.model_copy(update=_default_pools()), API_PROCESSES)
    assert caplog.records == []


@pytest.mark.usefixtures("postgres_only")
def test_serve_warns_at_start_when_its_workers_exceed_the_budget(settings: Settings) -> None:
    env = {**process_env(settings), "OMS_DB_POOL_SIZE": "60", "OMS_LOG_JSON": "false", "OMS_PORT": str(free_port())}
    process = subprocess.Popen(
        [sys.executable, "-m", "oms", "serve", "--workers", "2"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline and "connection budget" not in line:
            line = process.stderr.readline() if process.stderr else ""
            if not line and process.poll() is not None:
                break
        assert "connection budget exceeded: 2 process(es)" in line
        assert "= 140 connections, but the database allows 97" in line
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.usefixtures("postgres_only")
async def test_idle_connections_are_released(settings: Settings) -> None:
    """After a burst, both pools' connections end once idle: the hot pool closes them, PostgreSQL ends the
    ORM pool's (idle_session_timeout), and the pools serve on afterwards with fresh ones."""
    db = Database(settings.model_copy(update={"db_idle_seconds": 1.0, "hot_reads": True}))
    await db.start()
    try:
        pids = await _burst(db, 4)
        assert len(pids) >= 4
        await asyncio.sleep(3.5)
        assert await _alive(pids) == set()
        assert len(await _burst(db, 2)) >= 1  # and the pools still serve
    finally:
        await db.dispose()


async def _burst(db: Database, n: int) -> set[int]:
    """The backends of ``n`` concurrent statements on each pool."""

    async def orm() -> int:
        async with db.session_scope(write=False) as session:
            pid = int(await session.scalar(text("SELECT pg_backend_pid() FROM pg_sleep(0.2)")))
        return pid

    async def hot() -> int:
        async with db.hot_connection() as connection:
            return int(await connection.fetchval("SELECT pg_backend_pid() FROM pg_sleep(0.2)"))

    return set(await asyncio.gather(*(orm() for _ in range(n)), *(hot() for _ in range(n))))


async def _alive(pids: set[int]) -> set[int]:
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        rows = await connection.fetch("SELECT pid FROM pg_stat_activity WHERE pid = ANY($1::int[])", list(pids))
    finally:
        await connection.close()
    return {row["pid"] for row in rows}


def _default_pools() -> dict[str, int]:
    fields = Settings.model_fields
    return {name: int(fields[name].default) for name in ("db_pool_size", "db_max_overflow", "db_hot_pool_size")}
