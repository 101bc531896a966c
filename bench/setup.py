"""Prepare a benchmark dataset on PostgreSQL: a fresh schema, migrated, with one tenant, a key, customers
and wallets funded on the sandbox chain. Prints a JSON description used by the load scripts.

    python bench/setup.py --url postgresql://postgres@127.0.0.1:5432/test --wallets 200 --fund 1000.00
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import uuid
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from oms.app import create_app
from oms.config import Settings
from oms.db import normalise_url
from oms.migrations.runner import upgrade


async def create_schema(url: str, schema: str) -> None:
    engine = create_async_engine(normalise_url(url))
    async with engine.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    await engine.dispose()


async def prepare(url: str, schema: str, wallets: int, amount: str, out: Path) -> dict[str, object]:
    env = {
        "OMS_DATABASE_URL": url,
        "OMS_DATABASE_SCHEMA": schema,
        "OMS_SECRET_KEY": secrets.token_hex(32),
        "OMS_CUSTODY_KEK": secrets.token_hex(32),
        "OMS_DATA_DIR": str(out / "data"),
    }
    settings = Settings(
        database_url=url,
        database_schema=schema,
        secret_key=env["OMS_SECRET_KEY"],
        custody_kek=env["OMS_CUSTODY_KEK"],
        data_dir=out / "data",
        # Made in this one process, which creates the seed and signs the funding itself (no `oms signer`).
        signer="in-process",
        embedded_worker=False,
        log_level="WARNING",
    )
    app = create_app(settings)
    ctx = app.state.ctx
    async with app.router.lifespan_context(app):
        async with ctx.db.session_scope() as session:
            issued = await ctx.auth.create_key(session, tenant_name="bench", mode=settings.mode)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench/v0.9") as client:
            token = (
                await client.post("/auth/token", json={"apiKey": issued.key_id, "apiSecret": issued.secret})
            ).json()["accessToken"]
            headers = {"Authorization": f"Bearer {token}"}
            made = []
            for index in range(wallets):
                customer = (
                    await client.post("/customers", json={}, headers={**headers, "Idempotency-Key": f"c{index}"})
                ).json()
                wallet = (
                    await client.post(
                        f"/customers/{customer['id']}/wallets",
                        json={"asset": "usdc", "chain": "polygon"},
                        headers={**headers, "Idempotency-Key": f"w{index}"},
                    )
                ).json()
                await ctx.chains.get("polygon").mint("usdc", wallet["address"], int(float(amount)) * 10**6)
                made.append({"customer": customer["id"], "wallet": wallet["id"], "address": wallet["address"]})
        await ctx.chains.get("polygon").mine(ctx.settings.chain_confirmations + 1)
        while await ctx.deposits.run_once():
            pass
    return {
        "env": env,
        "apiKey": issued.key_id,
        "apiSecret": issued.secret,
        "tenant": issued.tenant_id,
        "schema": schema,
        "wallets": made,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--wallets", type=int, default=200)
    parser.add_argument("--fund", default="1000")
    parser.add_argument("--out", default="bench/results")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(create_schema(args.url, schema))
    upgrade(args.url, schema=schema)
    dataset = asyncio.run(prepare(args.url, schema, args.wallets, args.fund, out.resolve()))
    (out / "dataset.json").write_text(json.dumps(dataset, indent=1))
    print(f"dataset in {out / 'dataset.json'} (schema {dataset['schema']})", file=sys.stderr)


if __name__ == "__main__":
    main()
