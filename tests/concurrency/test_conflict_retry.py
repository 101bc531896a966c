"""A request that loses a real deadlock is run again whole and answered as if nothing had happened; one that
loses it on every attempt is 503 with Retry-After, having written nothing (docs/decisions.md, "Lock order").

The deadlock is PostgreSQL's own (40P01): the execution holds its quote and waits for the source wallet's held
account, which another connection holds while it waits for the quote (``_execute_into_a_deadlock``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from oms import outage
from oms.app import create_app
from oms.config import Settings
from oms.context import AppContext
from oms.ledger import service as ledger
from tests.support import (
    Api,
    OffsetClock,
    assert_error,
    create_customer,
    create_wallet,
    fund,
    ledger_is_sound,
    new_api,
    quote,
    settle,
)


@pytest.fixture
async def cold(settings: Settings, clock: OffsetClock, is_postgres: bool) -> AsyncIterator[tuple[AppContext, Api]]:
    """The app without the hot path, so that an execution takes the endpoint, whose unit of work is retried
    (the hot path's retry is passing the request on to it), and a tenant with a funded wallet."""
    if not is_postgres:
        pytest.skip("deadlocks are PostgreSQL's: SQLite has one writer at a time")
    ctx = AppContext.build(settings.model_copy(update={"hot_reads": False}), clock=clock)
    await ctx.start()
    app = create_app(ctx.settings, ctx=ctx)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://oms.test/v0.9") as client:
                yield ctx, await new_api(client, ctx)
    finally:
        await ctx.close()


async def _funded_quote(ctx: AppContext, api: Api) -> tuple[dict[str, Any], dict[str, int]]:
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    await fund(api, wallet, "10.00")
    assert isinstance(ctx.clock, OffsetClock)
    await settle(ctx, ctx.clock)
    offer = await quote(api, customer, wallet, to="0x" + "22" * 20, amount="1.00")
    assert offer.status_code == 201, offer.text
    async with ctx.db.session_scope(write=False) as session:
        accounts = await ledger.wallet_account_ids(session, wallet["id"])
    return offer.json(), accounts


_BLOCKED_BY = "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))"
_WAITING = "SELECT cardinality(pg_blocking_pids($1)) > 0"
_LOCK_QUOTE = "SELECT 1 FROM quotes WHERE id = $1 FOR NO KEY UPDATE"


async def _execute_into_a_deadlock(ctx: AppContext, api: Api, quote_id: str, held_account: int) -> httpx.Response:
    """Execute the quote while two other connections make its first attempt close a lock cycle.

    ``other`` holds the wallet's held account; ``gate`` holds the quote until both the execution and then
    ``other`` wait for it. Let through, the execution takes the quote (it queued first) and then waits for the
    held account: the cycle closes last on the execution's side, so its deadlock check (deadlock_timeout after
    it began to wait) is the one that finds it, and PostgreSQL fails the execution. ``other``'s own check is
    put off (a superuser's setting) so that it cannot be the victim."""
    gate, other = await _connect(ctx), await _connect(ctx)
    try:
        await gate.execute("BEGIN")
        await other.execute("BEGIN")
        await other.execute("SET LOCAL deadlock_timeout = '1min'")
        await other.execute("SELECT 1 FROM ledger_accounts WHERE id = $1 FOR NO KEY UPDATE", held_account)
        await gate.execute(_LOCK_QUOTE, quote_id)
        execution = asyncio.create_task(api.post("/transactions", {"quoteId": quote_id}, key=f"x-{quote_id}"))
        await _until(gate, _BLOCKED_BY, gate.get_server_pid())
        waiting = asyncio.create_task(other.execute(_LOCK_QUOTE, quote_id))
        await _until(gate, _WAITING, other.get_server_pid())
        await gate.execute("ROLLBACK")
        await waiting  # the execution's first attempt failed: the quote is free for ``other`` ...
        await other.execute("ROLLBACK")  # ... which lets the next attempt through
        return await execution
    finally:
        await gate.close()
        await other.close()


async def _connect(ctx: AppContext) -> asyncpg.Connection:
    schema = ctx.settings.database_schema
    return await asyncpg.connect(
        ctx.db.url.set(drivername="postgresql").render_as_string(hide_password=False),
        server_settings={"search_path": schema} if schema else {},
    )


async def _until(connection: asyncpg.Connection, query: str, pid: int) -> None:
    while not await connection.fetchval(query, pid):
        await asyncio.sleep(0.01)


def _retries(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "oms.conflicts" and r.levelno == logging.WARNING]


async def test_an_execution_that_loses_a_deadlock_runs_again_and_succeeds(
    cold: tuple[AppContext, Api], caplog: pytest.LogCaptureFixture
) -> None:
    ctx, api = cold
    offer, accounts = await _funded_quote(ctx, api)

    with caplog.at_level(logging.WARNING):
        executed = await _execute_into_a_deadlock(ctx, api, offer["id"], accounts["held"])

    assert executed.status_code == 201, executed.text
    assert executed.json()["quoteId"] == offer["id"]
    [retry] = _retries(caplog)
    assert (retry.sqlstate, retry.attempt, retry.work) == ("40P01", 1, "/v0.9/transactions")  # type: ignore[attr-defined]
    logged = f"{retry.getMessage()} {retry.__dict__}"
    assert "SELECT" not in logged and "UPDATE" not in logged and offer["id"] not in logged  # no SQL, no parameters
    replay = await api.post("/transactions", {"quoteId": offer["id"]}, key=f"x-{offer['id']}")
    assert replay.json() == executed.json()  # stored once, by the attempt that committed
    listed = (await api.get("/transactions", walletId=offer["source"]["walletId"])).json()["data"]
    assert [t["id"] for t in listed] == [executed.json()["id"]]
    await ledger_is_sound(ctx, api)


async def test_an_execution_that_loses_every_attempt_is_503_and_writes_nothing(
    cold: tuple[AppContext, Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, api = cold
    offer, accounts = await _funded_quote(ctx, api)
    monkeypatch.setattr(outage, "CONFLICT_ATTEMPTS", 1)  # the first conflict is the last attempt

    refused = await _execute_into_a_deadlock(ctx, api, offer["id"], accounts["held"])

    assert_error(refused, 503, "service_unavailable")
    assert refused.headers["Retry-After"] == "2"
    assert (await api.get(f"/quotes/{offer['id']}")).json()["status"] == "open"
    monkeypatch.undo()
    again = await api.post("/transactions", {"quoteId": offer["id"]}, key=f"x-{offer['id']}")
    assert again.status_code == 201, again.text  # the 503 was not stored: the same key executes
    await ledger_is_sound(ctx, api)
