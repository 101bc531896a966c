"""The whole product on a real EVM node (anvil): deposits from an outside account, transfers between
OMS wallets and to an outside address, reconciliation against on-chain balanceOf, a worker killed
mid-send, and concurrent sends from one wallet through the gas account's nonces."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from oms.app import create_app
from oms.chain.anvil import AnvilNode, deploy_test_token
from oms.config import Settings
from oms.context import AppContext
from oms.kit.money import parse_amount
from oms.models import ChainSend
from tests.chain.anvil import anvil_node, anvil_settings, balance_of, send_from_outside
from tests.support import (
    OffsetClock,
    balance,
    create_customer,
    create_wallet,
    fresh_database,
    ledger_is_sound,
    new_api,
    process_env,
    quote,
    settle,
    settle_until_completed,
)

OUTSIDE = "0x000000000000000000000000000000000000bEEF"


@pytest.fixture
def node(tmp_path: Path) -> Iterator[AnvilNode]:
    with anvil_node(tmp_path) as started:
        yield started


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A database of its own: deposit cursors are per network name, and this node is a new 'polygon'."""
    with fresh_database(tmp_path) as found:
        yield found


@pytest.fixture
async def on_anvil(node: AnvilNode, own_database: dict[str, str], settings: Settings, clock: OffsetClock):  # type: ignore[no-untyped-def]
    token = await deploy_test_token(node.rpc_url)
    configured = anvil_settings(settings, node.rpc_url, token).model_copy(
        update={"database_url": own_database["url"], "database_schema": own_database["schema"]}
    )
    ctx = AppContext.build(configured, clock=clock)
    app = create_app(configured, ctx=ctx)
    transport = httpx.ASGITransport(app=app)
    base_url = "http://oms.test/v0.9"
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        yield ctx, await new_api(client, ctx), token, configured


async def test_deposit_transfer_and_payout_agree_with_the_chain(on_anvil, node: AnvilNode, clock: OffsetClock) -> None:
    ctx, api, token, _ = on_anvil
    alice = await create_customer(api)
    alice_wallet = await create_wallet(api, alice["id"])
    bob = await create_customer(api)
    bob_wallet = await create_wallet(api, bob["id"])

    await send_from_outside(node.rpc_url, token, alice_wallet["address"], 50_000_000)
    await settle(ctx, clock)
    assert await balance(api, alice_wallet) == ("50.00", "50.00", "0.00")

    to_bob = (await quote(api, alice, alice_wallet, to=bob_wallet, amount="20.00")).json()
    to_outside = (await quote(api, alice, alice_wallet, to=OUTSIDE, amount="10.00", side="destination")).json()
    for offer in (to_bob, to_outside):
        assert (await api.post("/transactions", {"quoteId": offer["id"]})).status_code == 201
    await settle(ctx, clock, rounds=10)

    listed = (await api.get("/transactions", walletId=alice_wallet["id"])).json()["data"]
    assert [t["status"] for t in listed] == ["completed", "completed"]
    assert all(t["destination"]["txHash"].startswith("0x") for t in listed)
    for wallet in (alice_wallet, bob_wallet):
        settled, _, _ = await balance(api, wallet)
        assert parse_amount(settled, 6, allow_zero=True) == await balance_of(node.rpc_url, token, wallet["address"])
    assert await balance(api, bob_wallet) == ("19.97", "19.97", "0.00")  # 20.00 - (0.02 + 0.01)
    assert await balance_of(node.rpc_url, token, OUTSIDE) == 10_000_000
    await ledger_is_sound(ctx, api)


async def test_twenty_concurrent_sends_from_one_wallet_use_consecutive_gas_nonces(on_anvil, node, clock) -> None:  # type: ignore[no-untyped-def]
    ctx, api, token, _ = on_anvil
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    await send_from_outside(node.rpc_url, token, wallet["address"], 30_000_000)
    await settle(ctx, clock)
    offers = [(await quote(api, customer, wallet, to=OUTSIDE, amount="1.00")).json()["id"] for _ in range(20)]
    responses = await asyncio.gather(*(api.post("/transactions", {"quoteId": offer}) for offer in offers))
    assert [r.status_code for r in responses] == [201] * 20
    await settle(ctx, clock, rounds=10)
    async with ctx.db.session_scope(write=False) as session:
        found = await session.execute(select(ChainSend.nonce).where(ChainSend.purpose == "transfer"))
        nonces = sorted(found.scalars())
    assert nonces == list(range(nonces[0], nonces[0] + 20))
    completed = (await api.get("/transactions", walletId=wallet["id"], status="completed")).json()["data"]
    assert len(completed) == 20
    await ledger_is_sound(ctx, api)


async def test_a_worker_killed_after_broadcast_completes_the_same_transaction(on_anvil, node, clock) -> None:  # type: ignore[no-untyped-def]
    ctx, api, token, configured = on_anvil
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    await send_from_outside(node.rpc_url, token, wallet["address"], 5_000_000)
    await settle(ctx, clock)
    offer = (await quote(api, customer, wallet, to=OUTSIDE, amount="2.00")).json()
    transaction = (await api.post("/transactions", {"quoteId": offer["id"]})).json()

    env = process_env(configured, clock)
    worker = subprocess.Popen([sys.executable, "-m", "oms", "worker"], env=env)
    try:
        broadcast = await wait_for_send(ctx, transaction["id"], "broadcast")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    assert await ctx.chains.get("polygon").receipt(str(broadcast.tx_hash)) is None  # in the mempool, not mined

    restarted = subprocess.Popen([sys.executable, "-m", "oms", "worker"], env=env)
    try:
        for _ in range(8):
            await ctx.chains.get("polygon").mine(1)  # type: ignore[attr-defined]
            await asyncio.sleep(0.5)
    finally:
        restarted.terminate()
        restarted.wait(timeout=30)
    await settle_until_completed(ctx, clock, api, transaction["id"])
    done = (await api.get(f"/transactions/{transaction['id']}")).json()
    assert done["status"] == "completed" and done["destination"]["txHash"] == broadcast.tx_hash
    assert await balance_of(node.rpc_url, token, OUTSIDE) == 2_000_000 - 12_000  # sent once, net of the fee
    await ledger_is_sound(ctx, api)


async def wait_for_send(ctx: AppContext, transaction_id: str, status: str) -> ChainSend:
    for _ in range(600):
        async with ctx.db.session_scope(write=False) as session:
            send = (
                await session.execute(
                    select(ChainSend).where(ChainSend.reference == transaction_id, ChainSend.purpose == "transfer")
                )
            ).scalar_one()
        if send.status == status:
            return send
        await asyncio.sleep(0.05)
    raise AssertionError(f"the send never reached {status}")


async def test_a_uint256_deposit_is_flagged_and_the_deposits_after_it_are_credited(
    on_anvil, node: AnvilNode, clock: OffsetClock
) -> None:  # type: ignore[no-untyped-def]
    ctx, api, token, _ = on_anvil
    customer = await create_customer(api)
    poisoned = await create_wallet(api, customer["id"])
    healthy = await create_wallet(api, (await create_customer(api))["id"])
    huge = 2**200  # any uint256 is a valid ERC-20 amount; no BIGINT holds it
    await send_from_outside(node.rpc_url, token, poisoned["address"], huge)
    await send_from_outside(node.rpc_url, token, poisoned["address"], 3_000_000)
    await send_from_outside(node.rpc_url, token, healthy["address"], 4_000_000)
    await settle(ctx, clock)
    assert await balance(api, poisoned) == ("3.00", "3.00", "0.00")
    assert await balance(api, healthy) == ("4.00", "4.00", "0.00")
    [flagged] = await ctx.reconciler.flagged(tenant_id=api.tenant_id)
    assert (flagged.wallet_id, flagged.on_chain, flagged.reason) == (poisoned["id"], huge, "above the maximum amount")
    _, differences = await ctx.reconciler.run(tenant_id=api.tenant_id)
    assert [(d.owner, d.on_chain - d.ledger) for d in differences] == [(poisoned["id"], huge)]
