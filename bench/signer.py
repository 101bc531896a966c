"""Chain sends per second through the signer process, against signing in the worker's own process, in alternating
runs on one database: the sign stage of the chain sender (reserve each send's nonce, get its signature, record it),
over the same batch of queued transfers on the sandbox chain, reset between runs.

    .venv/bin/python bench/signer.py [--sends 200] [--rounds 3] [--database postgresql://…]

Without --database it runs on a SQLite file in a temporary directory; with it, in a scratch schema (dropped after).
Only the signing is timed: the request path (quote + execute) never signs, in either mode.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, text, update
from sqlalchemy.ext.asyncio import create_async_engine

from oms.app import create_app
from oms.config import Settings
from oms.context import AppContext
from oms.db import normalise_url
from oms.migrations.runner import upgrade
from oms.models import ChainSend, ChainSendAttempt
from oms.signer.spawn import START_SECONDS, answers


def _settings(data: Path, url: str, schema: str, **extra: Any) -> Settings:
    return Settings(
        data_dir=data, database_url=url, database_schema=schema, secret_key=secrets.token_hex(32),
        custody_kek=secrets.token_hex(32), embedded_worker=False, sandbox_kyc_delay_seconds=0, log_level="WARNING",
        signer_socket=data / "signer.sock", signer_spawn=False, **extra,
    )  # fmt: skip


async def _queue_transfers(ctx: AppContext, settings: Settings, count: int) -> list[str]:
    """``count`` executed transfers (their sends queued), from one wallet funded on the sandbox chain."""
    app = create_app(settings, ctx=ctx)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://b/v0.9") as http,
    ):
        async with ctx.db.session_scope() as session:
            issued = await ctx.auth.create_key(session, tenant_name="bench", mode=settings.mode)
        token = (await http.post("/auth/token", json={"apiKey": issued.key_id, "apiSecret": issued.secret})).json()
        headers = {"Authorization": f"Bearer {token['accessToken']}"}

        async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            answer = await http.post(path, json=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
            assert answer.status_code in (200, 201), answer.text
            return dict(answer.json())

        customer = await post("/customers", {})
        wallet = await post(f"/customers/{customer['id']}/wallets", {"asset": "usdc", "chain": "polygon"})
        await post("/sandbox/fund", {"address": wallet["address"], "amount": "100000.00", "asset": "usdc",
                                     "network": "polygon"})  # fmt: skip
        for _ in range(8):  # the deposit final and credited
            for chain in ctx.chains.all():
                await chain.mine(1)  # type: ignore[attr-defined]
            await ctx.deposits.run_once()
            async with ctx.db.session_scope() as session:
                await ctx.settlement.settle_final_sends(session)
        for _ in range(count):
            offer = await post("/quotes", {
                "customerId": customer["id"],
                "source": {"walletId": wallet["id"], "asset": "usdc", "network": "polygon", "amount": "1.00"},
                "destination": {"asset": "usdc", "network": "polygon",
                                "wallet": {"blockchainAddress": "0x" + "ab" * 20}},
            })  # fmt: skip
            await post("/transactions", {"quoteId": offer["id"]})
    async with ctx.db.session_scope(write=False) as session:
        rows = await session.execute(text("SELECT id FROM chain_sends WHERE status = 'queued'"))
        return [str(row[0]) for row in rows]


async def _reset(ctx: AppContext, sends: list[str]) -> None:
    async with ctx.db.session_scope() as session:
        await session.execute(delete(ChainSendAttempt).where(ChainSendAttempt.send_id.in_(sends)))
        await session.execute(
            update(ChainSend).where(ChainSend.id.in_(sends))
            .values(status="queued", nonce=None, tx_hash=None, next_check_at=ctx.clock.now())
        )  # fmt: skip


async def _run(ctx: AppContext, sends: list[str]) -> float:
    await _reset(ctx, sends)
    started = time.perf_counter()
    signed = 0
    while signed < len(sends):
        moved = await ctx.sender.sign_queued()
        assert moved, "nothing signed"
        signed += moved
    return len(sends) / (time.perf_counter() - started)


async def bench(url: str, schema: str, data: Path, sends: int, rounds: int) -> dict[str, list[float]]:
    local = _settings(data, url, schema, signer="in-process")
    remote = local.model_copy(update={"signer": "process"})
    env = {**os.environ, **{f"OMS_{k.upper()}": str(v) for k, v in local.model_dump().items() if v is not None}}
    env.update({"OMS_MODE": "sandbox", "OMS_SIGNER": "process"})
    in_process = AppContext.build(local)
    await in_process.start()
    queued = await _queue_transfers(in_process, local, sends)
    signer = subprocess.Popen([sys.executable, "-m", "oms", "signer"], env=env)
    results: dict[str, list[float]] = {"in-process": [], "signer": []}
    try:
        deadline = time.monotonic() + START_SECONDS
        while not answers(local.signer_socket_path):
            if signer.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"bench: the signer did not start (exit {signer.poll()})")
            time.sleep(0.05)
        through_signer = AppContext.build(remote)
        await through_signer.start()
        for _ in range(rounds):  # alternating: the same sends, reset, one way then the other
            results["in-process"].append(await _run(in_process, queued))
            results["signer"].append(await _run(through_signer, queued))
        await through_signer.close()
    finally:
        signer.terminate()
        signer.wait()
        await in_process.close()
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sends", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", default="")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="oms-bench-signer-", dir="/tmp"))
    schema = ""
    url = f"sqlite+aiosqlite:///{data / 'bench.db'}"
    if args.database:
        url, schema = args.database, f"bench_signer_{uuid.uuid4().hex[:8]}"
        engine = create_async_engine(normalise_url(url))
        async with engine.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        await engine.dispose()
    try:
        await asyncio.to_thread(upgrade, url, schema=schema or None)
        results = await bench(url, schema, data, args.sends, args.rounds)
    finally:
        if schema:
            engine = create_async_engine(normalise_url(url))
            async with engine.begin() as connection:
                await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            await engine.dispose()
        shutil.rmtree(data, ignore_errors=True)
    print(f"{args.sends} sends per run, {args.rounds} alternating rounds ({'PostgreSQL' if schema else 'SQLite'})")
    for mode, rates in results.items():
        shown = ", ".join(f"{rate:.0f}" for rate in rates)
        print(f"  {mode:<10} sends/s: median {statistics.median(rates):.0f}  (runs: {shown})")


if __name__ == "__main__":
    asyncio.run(main())
