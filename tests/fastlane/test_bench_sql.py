"""The database-alone benchmark runs the fast lane's own statements (bench/sql.py writes them)."""

from __future__ import annotations

import os
import shutil
import subprocess
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from bench import sql as bench_sql
from oms.context import AppContext
from tests.support import Api, OffsetClock, create_customer, create_wallet, fund, ledger_is_sound, settle


def test_the_committed_benchmark_sql_is_what_the_server_runs() -> None:
    for path, write in bench_sql.FILES.items():
        assert path.read_text() == write(), f"{path.name} is stale: run python -m bench.sql"


@pytest.fixture
async def bench_wallets(api: Api, ctx: AppContext, clock: OffsetClock, is_postgres: bool) -> Any:
    """Two funded wallets of a tenant, numbered in ``bench_wallets`` as bench/run.sh numbers a dataset's."""
    if not is_postgres or shutil.which("pgbench") is None:
        pytest.skip("the benchmark runs pgbench against PostgreSQL")
    wallets = []
    for _ in range(2):
        wallet = await create_wallet(api, (await create_customer(api))["id"])
        await fund(api, wallet, "1.00")
        wallets.append(wallet)
    await settle(ctx, clock)
    ids = ", ".join(f"('{wallet['id']}')" for wallet in wallets)
    async with ctx.db.session_scope() as session:
        await session.execute(
            text(
                "CREATE TABLE bench_wallets AS SELECT row_number() OVER (ORDER BY w.id) AS n, w.id, w.customer_id"
                f" FROM wallets w JOIN (VALUES {ids}) AS chosen(id) ON chosen.id = w.id"
            )
        )
    yield wallets
    async with ctx.db.session_scope() as session:
        await session.execute(text("DROP TABLE bench_wallets"))


async def test_the_benchmark_scripts_run_and_write_what_the_fast_lane_writes(
    api: Api, ctx: AppContext, database: dict[str, str], bench_wallets: Any
) -> None:
    environment = {**os.environ, "PGOPTIONS": f"-c search_path={database['schema']}"}
    variables = {"key": api.issued.key_id, "tenant": api.tenant_id, "batch": "2", "wallets": "2", "payees": "2"}
    url = database["url"].replace("postgresql+asyncpg://", "postgresql://")
    for script in ("pg_balance.sql", "pg_transfer.sql"):
        command = ["pgbench", "-n", "-M", "prepared", "-t", "3", "-f", str(bench_sql.HERE / script), url]
        command += [argument for name, value in variables.items() for argument in ("-D", f"{name}={value}")]
        ran = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60, check=False)
        assert ran.returncode == 0, f"{script}: {ran.stderr}"
    transactions = (await api.get("/transactions")).json()["data"]
    assert len(transactions) == 6 and {t["status"] for t in transactions} == {"processing"}
    held = [(await api.get(f"/wallets/{wallet['id']}/balance")).json() for wallet in bench_wallets]
    assert sum(Decimal(balance["balance"]) for balance in held) == 2  # still theirs, 0.06 of it held
    assert sum(Decimal(balance["available"]) for balance in held) == Decimal("1.94")
    await ledger_is_sound(ctx, api)
