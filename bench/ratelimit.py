"""What a rate-limited request costs, in process: the RateLimits layer (oms/ratelimit/middleware.py) around an
app that answers at once, driven by N concurrent clients with one key from one address (the benchmarks'
shape), without the layer, counting in memory, and counting in PostgreSQL (a scratch schema, dropped after).

    .venv/bin/python bench/ratelimit.py [--requests 20000] [--concurrency 32] [--database postgresql://…]

It prints CPU per request in this process and, for PostgreSQL, statements per request and the database's
time per statement (pg_stat_statements is not needed: it times the statements it sends).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

import asyncpg
from limits.aio.storage import MemoryStorage

from oms.auth.tokens import TokenSigner
from oms.config import Settings
from oms.db import Database
from oms.kit.address import ClientAddress
from oms.kit.time import SystemClock
from oms.ratelimit.counters import Counters, LimitsCounters
from oms.ratelimit.middleware import RateLimits
from oms.ratelimit.policy import families
from oms.ratelimit.postgres import PostgresStorage

_DDL = (
    "CREATE UNLOGGED TABLE rate_limit_counters"
    " (key varchar(255) PRIMARY KEY, count bigint NOT NULL, expires_at float8 NOT NULL)"
)


async def _answer(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"{}"})


async def _drive(app: Any, token: str, requests: int, concurrency: int) -> float:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/v0.9/wallets/wlt_x/balance",
        "headers": [(b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 50000),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_: Any) -> None:
        return None

    async def client(count: int) -> None:
        for _ in range(count):
            await app(dict(scope), receive, send)

    started = time.process_time()
    await asyncio.gather(*(client(requests // concurrency) for _ in range(concurrency)))
    return (time.process_time() - started) / requests * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    signer = TokenSigner(b"k" * 32, SystemClock(), 3600)
    token, _ = signer.issue(key_id="sk_sdbx_bench", tenant_id="ten_bench", mode="sandbox")
    schema = f"bench_rl_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.database)
    await admin.execute(f'CREATE SCHEMA "{schema}"; SET search_path = "{schema}"; {_DDL}')
    settings = Settings(database_url=args.database, database_schema=schema, hot_reads=False)
    db = Database(settings)
    postgres = PostgresStorage(db, settings)
    memory = LimitsCounters(MemoryStorage())
    stores: dict[str, Counters | None] = {"none": None, "memory": memory, "postgresql": postgres}
    try:
        for name, counters in stores.items():
            app: Any = _answer
            if counters is not None:
                app = RateLimits(
                    _answer,
                    families=families(settings),
                    counters=counters,
                    key_of_authorization=signer.key_id_of,
                    addresses=ClientAddress(""),
                    store_timeout=settings.rate_limit_store_timeout_seconds,
                    store_retry=settings.rate_limit_store_retry_seconds,
                )
            await _drive(app, token, 1000, args.concurrency)  # warm-up (the pool, the prepared statement)
            postgres.statements = 0  # the hit statements it sends (PostgresStorage counts them)
            wall = time.perf_counter()
            cpu = await _drive(app, token, args.requests, args.concurrency)
            wall = (time.perf_counter() - wall) / args.requests * 1e6
            extra = f", {postgres.statements / args.requests:.3f} statements/request" if name == "postgresql" else ""
            print(f"{name:10} {cpu:6.1f} us CPU/request, {wall:6.1f} us wall/request{extra}")
    finally:
        await postgres.close()
        await db.dispose()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


if __name__ == "__main__":
    import uvloop  # the event loop `oms serve` runs on

    uvloop.run(main())
