"""`oms reconcile`: the ledger against the chain, for every wallet and the fee treasury; each run (the worker's, the
command's, the console's) kept as its scope's last run."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import select

from oms.models import ReconcileRecord, Tenant
from oms.worker import reconcile
from tests.support import Api, OffsetClock, create_customer, create_wallet, fund, process_env, settle


async def test_an_unrecorded_deposit_is_a_difference_until_it_is_credited(api: Api, ctx, clock: OffsetClock) -> None:
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    chain = ctx.chains.get("polygon")
    await chain.mint("usdc", wallet["address"], 4_200_000)  # type: ignore[attr-defined]
    await chain.mine(1)  # type: ignore[attr-defined]
    checked, differences = await ctx.reconciler.run(tenant_id=api.tenant_id)
    assert checked >= 1
    assert [(d.owner, d.ledger, d.on_chain) for d in differences] == [(wallet["id"], 0, 4_200_000)]
    await settle(ctx, clock)
    assert (await ctx.reconciler.run(tenant_id=api.tenant_id))[1] == []


async def test_transfers_in_flight_are_not_differences(api: Api, ctx, clock: OffsetClock) -> None:
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    await fund(api, wallet, "5.00")
    await settle(ctx, clock)
    offer = (
        await api.post(
            "/quotes",
            {
                "customerId": customer["id"],
                "source": {"walletId": wallet["id"], "asset": "usdc", "network": "polygon", "amount": "2.00"},
                "destination": {
                    "asset": "usdc",
                    "network": "polygon",
                    "wallet": {"blockchainAddress": "0x" + "33" * 20},
                },
            },
        )
    ).json()
    await api.post("/transactions", {"quoteId": offer["id"]})
    await ctx.sender.run_once()
    await ctx.chains.get("polygon").mine(1)  # type: ignore[attr-defined]
    await ctx.sender.run_once()  # mined, not yet final: the ledger still holds it
    assert (await ctx.reconciler.run(tenant_id=api.tenant_id))[1] == []
    await settle(ctx, clock)
    assert (await ctx.reconciler.run(tenant_id=api.tenant_id))[1] == []


async def test_the_command_exits_1_and_names_each_difference(api: Api, ctx, clock: OffsetClock, settings) -> None:
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    await ctx.chains.get("polygon").mint("usdc", wallet["address"], 1_000_000)  # type: ignore[attr-defined]
    await ctx.chains.get("polygon").mine(1)  # type: ignore[attr-defined]
    env = process_env(settings, clock)
    async with ctx.db.session_scope(write=False) as session:
        tenant = await session.get(Tenant, api.tenant_id)
    command = [sys.executable, "-m", "oms", "reconcile", "--tenant", tenant.name]
    found = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert found.returncode == 1, found.stdout + found.stderr
    assert f"DIFFERENCE polygon usdc {wallet['address']} ({wallet['id']}): ledger 0.00 vs chain 1.00" in found.stdout
    await settle(ctx, clock)
    clean = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "0 differences" in clean.stdout


async def test_the_workers_run_is_kept_and_is_the_last_run_for_every_process(api: Api, ctx, clock: OffsetClock) -> None:
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    await ctx.chains.get("polygon").mint("usdc", wallet["address"], 2_500_000)  # type: ignore[attr-defined]
    await ctx.chains.get("polygon").mine(1)  # type: ignore[attr-defined]
    await reconcile(ctx)  # the worker's job
    last = await ctx.reconciler.last_run()
    assert last is not None and last.by == "worker" and last.tenant_id is None
    assert (wallet["id"], 0, 2_500_000) in [(d.owner, d.ledger, d.on_chain) for d in last.differences]
    await settle(ctx, clock)
    mine = await ctx.reconciler.check(by="console", tenant_id=api.tenant_id)  # one tenant's: a scope of its own
    assert (await ctx.reconciler.last_run(tenant_id=api.tenant_id)) == mine and mine.differences == []
    assert (await ctx.reconciler.last_run()) == last  # every tenant's last run is still the worker's


async def test_a_scope_keeps_only_its_last_run(api: Api, ctx, clock: OffsetClock) -> None:
    await ctx.reconciler.check(by="console", tenant_id=api.tenant_id)
    clock.advance(seconds=1)
    latest = await ctx.reconciler.check(by="console", tenant_id=api.tenant_id)
    async with ctx.db.session_scope(write=False) as session:
        mine = select(ReconcileRecord.at).where(ReconcileRecord.tenant_id == api.tenant_id)
        kept = (await session.execute(mine)).all()
    assert [row[0] for row in kept] == [latest.at]
