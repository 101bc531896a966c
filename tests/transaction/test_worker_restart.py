"""A real worker process killed between broadcasting a transfer and its confirmation, then restarted:
the transfer is neither lost nor sent twice."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

from sqlalchemy import select

from oms.chain.sender import SIGNING_LEASE
from oms.models import ChainSend
from tests.support import (
    Api,
    OffsetClock,
    create_customer,
    create_wallet,
    fund,
    ledger_is_sound,
    process_env,
    quote,
    settle,
    settle_until_completed,
)


def worker_env(settings, clock: OffsetClock) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A worker that mines no sandbox blocks itself (the test mines), at the test's clock."""
    return {**process_env(settings, clock), "OMS_SANDBOX_BLOCK_SECONDS": "3600"}


async def wait_for(ctx, transaction_id: str, status: str, timeout: float = 30) -> ChainSend:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.05)):
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


async def test_killed_worker_neither_loses_nor_repeats_a_transfer(api: Api, ctx, clock: OffsetClock, settings) -> None:
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    await fund(api, wallet, "10.00")
    await settle(ctx, clock)
    offer = (await quote(api, customer, wallet, to="0x" + "22" * 20, amount="3.00")).json()
    transaction = (await api.post("/transactions", {"quoteId": offer["id"]})).json()

    worker = subprocess.Popen([sys.executable, "-m", "oms", "worker"], env=worker_env(settings, clock))
    try:
        broadcast = await wait_for(ctx, transaction["id"], "broadcast")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    chain = ctx.chains.get("polygon")
    assert (await chain.receipt(str(broadcast.tx_hash))) is None  # submitted, not yet mined

    restarted = subprocess.Popen([sys.executable, "-m", "oms", "worker"], env=worker_env(settings, clock))
    try:
        for _ in range(6):
            await chain.mine(1)  # type: ignore[attr-defined]
            await asyncio.sleep(0.6)
    finally:
        restarted.terminate()
        restarted.wait(timeout=30)

    # Stopped in the middle of a signature (the fee sweep's, say), a worker leaves that send leased: the next one
    # waits the lease out, as it would after a real restart.
    clock.advance(seconds=SIGNING_LEASE.total_seconds())
    await settle_until_completed(ctx, clock, api, transaction["id"])
    assert (await api.get(f"/transactions/{transaction['id']}")).json()["status"] == "completed"
    sent = [t for t in await chain.transfers("usdc", 0, await chain.head()) if t.from_address == wallet["address"]]
    assert sorted(t.amount for t in sent) == [13_000, 2_987_000]  # the principal once, its fee sweep once
    await ledger_is_sound(ctx, api)
