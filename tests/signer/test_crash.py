"""``kill -9`` of the signer in the middle of a batch of sends, then a restart: each transfer is sent exactly once.
A signature the signer gave is committed to its audit log first; the worker stores it before broadcasting, and a
send it never got a signature for keeps its reserved nonce and is signed again after the restart."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
from pathlib import Path

from sqlalchemy import func, select

from oms.config import Settings
from oms.context import AppContext
from oms.models import ChainSend
from tests.signer.conftest import keyless_env, running, running_signer, signer_env, start_signer
from tests.signer.support import signer_records
from tests.support import Api, OffsetClock, execute, funded_wallet, ledger_is_sound, quote, stop

TRANSFERS = 40


async def test_a_signer_killed_mid_batch_sends_each_transfer_once(
    settings: Settings, clock: OffsetClock, ctx: AppContext, api: Api, sockets: Path, tmp_path: Path
) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock, amount="100.00")
    to = "0x" + secrets.token_hex(20)
    transfers = []
    for _ in range(TRANSFERS):
        offer = await quote(api, customer, wallet, to=to, amount="0.50", side="destination")
        transfers.append((await execute(api, offer.json()["id"])).json()["id"])

    path = sockets / "signer.sock"
    worker_env = {**keyless_env(settings, clock, path, tmp_path / "worker"), "OMS_SANDBOX_BLOCK_SECONDS": "0.2"}
    signer = start_signer(signer_env(settings, clock, path))
    try:
        with running("worker", worker_env):
            while not await _signed(ctx, api):  # the batch has begun: kill the signer in its middle
                await asyncio.sleep(0.005)
            os.kill(signer.pid, signal.SIGKILL)
            signer.wait()
            at_kill = await _signed(ctx, api)
            assert 0 < at_kill < TRANSFERS, f"the kill came after {at_kill} of {TRANSFERS} signatures"
            with running_signer(signer_env(settings, clock, path)):
                await _all_completed(api, transfers)
    finally:
        stop(signer)

    async with ctx.db.session_scope(write=False) as session:
        confirmed = await session.scalar(
            select(func.count()).where(
                ChainSend.reference.in_(transfers), ChainSend.purpose == "transfer", ChainSend.status == "confirmed"
            )
        )
    assert confirmed == TRANSFERS
    chain = ctx.chains.get("polygon")
    arrived = await chain.transfers("usdc", 0, await chain.head(), [to])
    assert len(arrived) == TRANSFERS  # one transaction on chain per transfer, none twice
    assert await chain.balance_of("usdc", to) == TRANSFERS * 500_000  # 0.50 each, exactly once
    await ledger_is_sound(ctx, api)


async def _signed(ctx: AppContext, api: Api) -> int:
    return sum(1 for record in await signer_records(ctx) if record.tenant_id == api.tenant_id)


async def _all_completed(api: Api, transfers: list[str], timeout: float = 120) -> None:
    for _ in range(int(timeout / 0.5)):
        statuses = [(await api.get(f"/transactions/{txn}")).json()["status"] for txn in transfers]
        if all(status == "completed" for status in statuses):
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"not all completed: {statuses}")
