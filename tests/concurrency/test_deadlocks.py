"""No deadlock under a mixed concurrent load on PostgreSQL (docs/decisions.md, "Lock order").

Money moves both ways between overlapping wallets at once (A→B and B→A: the classic cycle), through the hot
path and the endpoints, while balances and lists are read, customers are created, wallets are funded on the
sandbox chain, and two workers' jobs run side by side (sends, blocks, deposits, two settlements). It runs on
a database of its own, so that PostgreSQL's own count of deadlocks in it (``pg_stat_database.deadlocks``) is
this test's alone: it must not move, and no 5xx may be answered, and the books must balance to the unit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from oms.app import create_app
from oms.config import Settings
from oms.context import AppContext
from oms.worker import jobs_for, run_job_forever
from tests.support import (
    POSTGRES_URL,
    Api,
    OffsetClock,
    create_customer,
    create_wallet,
    fund,
    ledger_is_sound,
    new_api,
    own_postgres_database,
    quote,
    settle,
)

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="lock cycles are PostgreSQL's: SQLite has one writer")

LOAD_SECONDS = 12
WALLETS = 4
# Both directions between overlapping wallets, so that a cycle has every chance to close.
PAIRS = [(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2), (3, 0), (0, 3)]


@pytest.fixture
def own_database(is_postgres: bool) -> Iterator[str]:
    if not is_postgres:
        pytest.skip("PostgreSQL only")
    with own_postgres_database() as url:
        yield url


@pytest.fixture
async def server(own_database: str, settings: Settings) -> AsyncIterator[tuple[AppContext, httpx.AsyncClient]]:
    """The app on its own database with a short block time, so that the jobs settle during the load."""
    mine = settings.model_copy(
        update={
            "database_url": own_database,
            "database_schema": None,
            "data_dir": settings.data_dir / secrets.token_hex(4),
            "sandbox_block_seconds": 0.3,
        }
    )
    ctx = AppContext.build(mine, clock=OffsetClock())
    await ctx.start()
    app = create_app(mine, ctx=ctx)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://oms.test/v0.9", timeout=60) as client:
                yield ctx, client
    finally:
        await ctx.close()


async def deadlocks(url: str) -> int:
    """PostgreSQL's count of deadlocks detected in this database (reported when a backend's statistics flush)."""
    connection = await asyncpg.connect(url)
    try:
        return int(
            await connection.fetchval("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        )
    finally:
        await connection.close()


async def test_mixed_load_never_deadlocks(
    server: tuple[AppContext, httpx.AsyncClient], own_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    ctx, client = server
    clock = ctx.clock
    assert isinstance(clock, OffsetClock)
    api = await new_api(client, ctx)
    customers = [await create_customer(api) for _ in range(WALLETS)]
    wallets = [await create_wallet(api, customer["id"]) for customer in customers]
    for wallet in wallets:
        await fund(api, wallet, "1000.00")
    await settle(ctx, clock)
    before = await deadlocks(own_database)

    statuses: Counter[int] = Counter()
    with caplog.at_level(logging.WARNING):
        await _load(ctx, api, customers, wallets, statuses)
    await _drain(ctx, clock, api)

    assert not [status for status in statuses if status >= 500], statuses
    assert statuses[201] > 100, statuses  # the load did move money
    await ledger_is_sound(ctx, api)
    troubles = [_described(r) for r in caplog.records if r.levelno >= logging.WARNING and _trouble(r)]
    assert troubles == []
    await ctx.db.dispose()  # every backend flushes its statistics as it ends
    assert await deadlocks(own_database) == before


def _described(record: logging.LogRecord) -> str:
    """The warning with what names the conflict (the work retried, its SQLSTATE), should one be found."""
    named = {name: getattr(record, name) for name in ("work", "sqlstate", "path", "job") if hasattr(record, name)}
    return f"{record.getMessage()} {named}"


def _trouble(record: logging.LogRecord) -> bool:
    text = f"{record.getMessage()} {record.exc_text or ''} {getattr(record, 'error', '')}".lower()
    return "deadlock" in text or "serializ" in text or record.getMessage() in {"job failed", "unhandled error"}


async def _load(
    ctx: AppContext, api: Api, customers: list[dict[str, Any]], wallets: list[dict[str, Any]], statuses: Counter[int]
) -> None:
    """Every kind of traffic at once for LOAD_SECONDS, with two workers' jobs running beside it."""
    stop = asyncio.Event()

    async def repeat(step: Callable[[], Awaitable[httpx.Response]]) -> None:
        while not stop.is_set():
            statuses[(await step()).status_code] += 1

    async def pay(source: int, target: int) -> httpx.Response:
        offer = await quote(api, customers[source], wallets[source], to=wallets[target], amount="0.25")
        if offer.status_code != 201:
            return offer
        return await api.post("/transactions", {"quoteId": offer.json()["id"]})

    async def read() -> httpx.Response:
        wallet = random.choice(wallets)
        await api.get(f"/wallets/{wallet['id']}/balance")
        return await api.get("/transactions", walletId=wallet["id"], limit=10)

    async def onboard() -> httpx.Response:
        customer = await create_customer(api)
        return await api.post(f"/customers/{customer['id']}/wallets", {"asset": "usdc", "chain": "polygon"})

    async def top_up() -> httpx.Response:
        wallet = random.choice(wallets)
        body = {"address": wallet["address"], "amount": "1.00", "asset": "usdc", "network": "polygon"}
        return await api.post("/sandbox/fund", body)

    jobs = [job for job in jobs_for(ctx) if job.name != "reconcile"] * 2  # two workers side by side
    background = [asyncio.create_task(run_job_forever(ctx, job)) for job in jobs]
    traffic = [repeat(lambda s=s, t=t: pay(s, t)) for s, t in PAIRS]
    traffic += [repeat(read), repeat(read), repeat(onboard), repeat(top_up)]
    running = [asyncio.create_task(step) for step in traffic]
    await asyncio.sleep(LOAD_SECONDS)
    stop.set()
    try:
        await asyncio.gather(*running)
    finally:
        for task in background:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*background, return_exceptions=True)


async def _drain(ctx: AppContext, clock: OffsetClock, api: Api) -> None:
    """Settle until nothing is in flight, so that the ledger must equal the chain."""
    for _ in range(30):
        if not (await api.get("/transactions", status="processing", limit=1)).json()["data"]:
            break
        await settle(ctx, clock, rounds=2)
    await settle(ctx, clock, rounds=4)  # deposits funded last become final
