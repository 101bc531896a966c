"""CPU per quote + execution pair, in process: the steadiest figure on a VM whose speed drifts.

Drives the ASGI application directly (no HTTP server, no load generator) with N concurrent clients against
the dataset that `bench/run.sh` (or `bench/setup.py`) prepared, on uvloop as `oms serve` runs, and prints the
process CPU time per pair.

    .venv/bin/python bench/cpu.py [--pairs 2000] [--concurrency 16] [--hot] [--profile out.txt]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import random
import time
import uuid
from pathlib import Path
from typing import Any

import orjson


def _load_env(dataset: dict[str, Any]) -> None:
    os.environ.update(dataset["env"])
    os.environ.update({"OMS_EMBEDDED_WORKER": "false", "OMS_LOG_LEVEL": "WARNING"})


async def _call(app: Any, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8080),
    }
    sent = False
    status, chunks = 0, []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--hot", action="store_true", help="every pair from the first wallet")
    parser.add_argument("--profile", help="write cProfile's cumulative top functions here")
    args = parser.parse_args()
    dataset = json.loads(Path("bench/results/dataset.json").read_text())
    _load_env(dataset)
    from oms.app import create_app
    from oms.config import Settings

    app = create_app(Settings())
    async with app.router.lifespan_context(app):
        _, body = await _call(
            app, "POST", "/v0.9/auth/token", {"content-type": "application/json"},
            orjson.dumps({"apiKey": dataset["apiKey"], "apiSecret": dataset["apiSecret"]}),
        )  # fmt: skip
        token = orjson.loads(body)["accessToken"]
        wallets = dataset["wallets"]
        remaining = args.pairs
        failures: list[str] = []

        async def pair() -> None:
            i = 0 if args.hot else random.randrange(len(wallets))
            source, target = wallets[i], wallets[(i + 1) % len(wallets)]
            headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
            quote_body = orjson.dumps({
                "customerId": source["customer"],
                "source": {"walletId": source["wallet"], "asset": "usdc", "network": "polygon", "amount": "0.01"},
                "destination": {"asset": "usdc", "network": "polygon", "wallet": {"id": target["wallet"]}},
            })  # fmt: skip
            status, body = await _call(
                app, "POST", "/v0.9/quotes", {**headers, "idempotency-key": uuid.uuid4().hex}, quote_body
            )
            if status != 201:
                failures.append(body.decode())
                return
            quote = orjson.loads(body)["id"]
            status, body = await _call(
                app, "POST", "/v0.9/transactions", {**headers, "idempotency-key": uuid.uuid4().hex},
                orjson.dumps({"quoteId": quote}),
            )  # fmt: skip
            if status != 201:
                failures.append(body.decode())

        async def client() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await pair()

        for _ in range(50):  # warm-up: prepared statements, caches
            await pair()
        profiler = cProfile.Profile() if args.profile else None
        remaining = args.pairs
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        await asyncio.gather(*(client() for _ in range(args.concurrency)))
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(
            f"pairs={args.pairs} concurrency={args.concurrency} hot={args.hot} failed={len(failures)} "
            f"cpu_ms_per_pair={cpu * 1000 / args.pairs:.2f} pairs_per_s={args.pairs / wall:.0f}"
        )
        if failures:
            print("first failure:", failures[0][:300])
        if profiler:
            with open(args.profile, "w") as out:
                pstats.Stats(profiler, stream=out).sort_stats(os.environ.get("BENCH_SORT", "tottime")).print_stats(60)


if __name__ == "__main__":
    import uvloop  # the event loop `oms serve` runs on

    uvloop.run(main())
