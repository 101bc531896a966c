"""Webhook delivery benchmark (not a test): events delivered per second by worker processes to a fast
local receiver, and the lag from the commit of an event to its arrival at the receiver (p50/p99).

    .venv/bin/python bench/webhooks.py --url postgresql://postgres@127.0.0.1:5432/test

It makes a fresh PostgreSQL schema (dropped at the end), a tenant and webhook subscriptions through the
API, starts a receiver (uvicorn, its own process) and ``--workers`` delivery worker processes (each runs
the same delivery loop as ``oms worker``'s webhook job), then:

1. throughput: commits a backlog of ``--events`` events in one transaction and times until the receiver
   has every delivery (fan-out, claims, signing, HTTP and recording included);
2. lag: commits events one per transaction at ``--rate`` per second for ``--seconds`` seconds while the
   workers are running, and measures receive time minus commit time for each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[1]
EVENT_TYPE = "transaction.cryptoToCrypto.completed"


# --- the receiver (its own process) ---------------------------------------------------------------------


def receiver_main(port: int) -> None:
    import uvicorn

    received: list[tuple[str, str, float]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        if scope["method"] == "POST":
            headers = dict(scope["headers"])
            received.append((headers.get(b"webhook-id", b"").decode(), scope["path"], time.time()))
            body = b""
        else:
            body = orjson.dumps(received)
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]}
        )
        await send({"type": "http.response.body", "body": body})

    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, loop="uvloop", http="httptools"
    )


# --- a delivery worker (its own process) ----------------------------------------------------------------


def worker_main() -> None:
    from oms.config import Settings
    from oms.db import Database
    from oms.kit.time import SystemClock
    from oms.webhook.wiring import build_webhooks

    async def run() -> None:
        settings = Settings()
        db = Database(settings)
        delivery = build_webhooks(settings, root=settings.secret_key_bytes(), clock=SystemClock(), db=db)[
            "webhook_delivery"
        ]
        try:
            while True:
                if not await delivery.run():
                    await asyncio.sleep(settings.webhook_poll_seconds)
        finally:
            await delivery.close()
            await db.dispose()

    import uvloop

    uvloop.run(run())


# --- the driver -----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def stats(receiver: str) -> list[tuple[str, str, float]]:
    async with httpx.AsyncClient() as client:
        return [tuple(row) for row in (await client.get(receiver + "/stats", timeout=30)).json()]  # type: ignore[misc]


async def wait_for(receiver: str, count: int, timeout: float) -> list[tuple[str, str, float]]:
    deadline = time.monotonic() + timeout
    while True:
        rows = await stats(receiver)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.2)


def resource(n: int) -> dict[str, Any]:
    """About the size of a real transaction object."""
    return {
        "id": f"txn_{uuid.uuid4().hex}",
        "object": "transaction",
        "type": "cryptoToCrypto",
        "status": "completed",
        "source": {"walletId": f"wlt_{n}", "amount": {"value": "125.000000", "currency": "usdc"}},
        "destination": {"address": "0x" + secrets.token_hex(20), "txHash": "0x" + secrets.token_hex(32)},
        "fees": [{"type": "network", "amount": {"value": "0", "currency": "usdc"}}],
        "metadata": {"orderId": str(n)},
        "createdAt": "2026-11-24T00:00:00.000Z",
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def drive(args: argparse.Namespace) -> None:
    from oms.app import create_app
    from oms.config import Settings
    from oms.db import normalise_url
    from oms.event import service as events
    from oms.migrations.runner import upgrade

    schema = f"bench_webhooks_{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(normalise_url(args.url))
    async with engine.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    await asyncio.to_thread(upgrade, args.url, schema=schema)
    data_dir = Path(f"/tmp/{schema}")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OMS_")},
        "OMS_DATABASE_URL": args.url,
        "OMS_DATABASE_SCHEMA": schema,
        "OMS_SECRET_KEY": secrets.token_hex(32),
        "OMS_CUSTODY_KEK": secrets.token_hex(32),
        "OMS_DATA_DIR": str(data_dir),
        "OMS_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    settings = Settings(
        database_url=args.url,
        database_schema=schema,
        secret_key=env["OMS_SECRET_KEY"],
        custody_kek=env["OMS_CUSTODY_KEK"],
        data_dir=data_dir,
        # Made in this one process, which creates the seed and signs the funding itself (no `oms signer`).
        signer="in-process",
        embedded_worker=False,
    )
    port = free_port()
    receiver = f"http://127.0.0.1:{port}"
    processes = [subprocess.Popen([sys.executable, __file__, "receiver", "--port", str(port)], env=env)]
    app = create_app(settings)
    ctx = app.state.ctx
    try:
        async with app.router.lifespan_context(app):
            async with ctx.db.session_scope() as session:
                issued = await ctx.auth.create_key(session, tenant_name="bench", mode=settings.mode)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench/v0.9") as api:
                token = (
                    await api.post("/auth/token", json={"apiKey": issued.key_id, "apiSecret": issued.secret})
                ).json()["accessToken"]
                for n in range(args.subscriptions):
                    response = await api.post(
                        "/webhooks",
                        json={"url": f"{receiver}/hook{n}", "events": ["transaction.*"]},
                        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
                    )
                    assert response.status_code == 201, response.text
            for _ in range(200):
                try:
                    await stats(receiver)
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.05)
            for _ in range(args.workers):
                processes.append(subprocess.Popen([sys.executable, __file__, "worker"], env=env))
            await asyncio.sleep(2)  # workers up and idle

            # 1. throughput: a backlog committed at once
            cpu_before = [cpu_seconds(p.pid) for p in processes]
            async with ctx.db.session_scope() as session:
                for n in range(args.events):
                    await events.record(
                        session,
                        tenant_id=issued.tenant_id,
                        type=EVENT_TYPE,
                        object_id=f"obj_{n}",
                        resource=resource(n),
                        at=ctx.clock.now(),
                    )
            committed = time.time()
            expected = args.events * args.subscriptions
            rows = await wait_for(receiver, expected, timeout=600)
            last = max(t for _, _, t in rows)
            unique = {(i, p) for i, p, _ in rows}
            throughput = len(unique) / (last - committed)
            print(
                f"throughput: {len(unique)}/{expected} deliveries in {last - committed:.2f} s "
                f"= {throughput:.0f} deliveries/s ({len(rows) - len(unique)} duplicates)"
            )
            used = [cpu_seconds(p.pid) - before for p, before in zip(processes, cpu_before, strict=True)]
            print(
                f"CPU per delivery: receiver {used[0] / len(unique) * 1000:.2f} ms, workers "
                f"{sum(used[1:]) / len(unique) * 1000:.2f} ms ({os.cpu_count()} cores on this machine)"
            )

            # 2. lag at a steady rate, one event per transaction
            commit_times: dict[str, float] = {}
            interval = 1 / args.rate
            start = time.monotonic()
            for n in range(int(args.rate * args.seconds)):
                async with ctx.db.session_scope() as session:
                    event = await events.record(
                        session,
                        tenant_id=issued.tenant_id,
                        type=EVENT_TYPE,
                        object_id=f"lag_{n}",
                        resource=resource(n),
                        at=ctx.clock.now(),
                    )
                commit_times[event.id] = time.time()
                delay = start + (n + 1) * interval - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            rows = await wait_for(receiver, expected + len(commit_times) * args.subscriptions, timeout=120)
            first_arrival: dict[tuple[str, str], float] = {}
            for event_id, path, at in rows:
                if event_id in commit_times:
                    key = (event_id, path)
                    first_arrival[key] = min(at, first_arrival.get(key, at))
            lags = [(at - commit_times[event_id]) * 1000 for (event_id, _), at in first_arrival.items()]
            print(
                f"lag at {args.rate}/s for {args.seconds} s ({len(lags)} deliveries): "
                f"p50 {percentile(lags, 0.5):.0f} ms, p99 {percentile(lags, 0.99):.0f} ms, "
                f"max {max(lags):.0f} ms, mean {statistics.fmean(lags):.0f} ms"
            )
    finally:
        for process in processes:
            process.kill()
            process.wait()
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("role", nargs="?", default="drive", choices=["drive", "receiver", "worker"])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--subscriptions", type=int, default=1)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    if args.role == "receiver":
        receiver_main(args.port)
    elif args.role == "worker":
        worker_main()
    else:
        asyncio.run(drive(args))


if __name__ == "__main__":
    main()
