"""The ChainAdapter contract: the same cases against the sandbox chain and a real EVM node (anvil)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from oms.chain.port import NonceTooLow, SignedTransfer, TransferIntent
from oms.chain.registry import sandbox_chain_database
from oms.chain.sandbox import SandboxChain
from tests.chain.anvil import started_anvil_chain

ASSET = "usdc"
OUTSIDE = "0x000000000000000000000000000000000000dEaD"


@pytest.fixture(params=["sandbox", "anvil"])
async def chain(request: pytest.FixtureRequest, ctx, tmp_path: Path) -> AsyncIterator[Any]:  # type: ignore[no-untyped-def]
    """An adapter that also offers the development controls (mine, mint, reorg), on a chain of its own."""
    if request.param == "anvil":
        async with started_anvil_chain(ctx, ctx.settings, tmp_path) as anvil:
            yield anvil
        return
    sandbox = SandboxChain(
        f"contract-{uuid.uuid4().hex[:8]}",
        db=sandbox_chain_database(ctx.settings, ctx.db),
        custody=ctx.custody,
        clock=ctx.clock,
        confirmations=3,
    )
    await sandbox.start()
    yield sandbox


async def custody_address(ctx) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    async with ctx.db.session_scope() as session:
        return await ctx.custody.new_address(session, purpose="contract-test")


async def funded_sender(ctx, chain, amount: int) -> TransferIntent:  # type: ignore[no-untyped-def]
    index, address = await custody_address(ctx)
    await chain.mint(ASSET, address, amount)
    await chain.mine(1)
    return TransferIntent(
        asset=ASSET,
        from_address=address,
        from_key_index=index,
        to_address=OUTSIDE,
        amount=amount,
        reference=uuid.uuid4().hex,
    )


def another(intent: TransferIntent, amount: int) -> TransferIntent:
    """A different payment from the same sender."""
    return TransferIntent(intent.asset, intent.from_address, intent.from_key_index, OUTSIDE, amount, uuid.uuid4().hex)


async def send(chain, intent: TransferIntent) -> SignedTransfer:  # type: ignore[no-untyped-def]
    nonce = await chain.pending_nonce(chain.fee_payer(intent).address)
    signed = await chain.sign_transfer(intent, nonce)
    await chain.broadcast(signed)
    return signed


async def test_blocks_grow_and_have_hashes(chain) -> None:
    start = await chain.head()
    assert await chain.mine(2) == start + 2 == await chain.head()
    block_hash = await chain.block_hash(start + 2)
    assert block_hash and block_hash.startswith("0x") and len(block_hash) == 66
    assert await chain.block_hash(start + 1) != block_hash
    assert await chain.block_hash(start + 50) is None


async def test_minted_tokens_show_in_balance_and_transfers(chain, ctx) -> None:
    _, address = await custody_address(ctx)
    _, other = await custody_address(ctx)
    start = await chain.head()
    await chain.mint(ASSET, address, 1_500_000)
    await chain.mint(ASSET, other, 7)
    assert await chain.balance_of(ASSET, address) == 0  # not mined yet
    head = await chain.mine(1)
    assert await chain.balance_of(ASSET, address) == 1_500_000
    found = await chain.transfers(ASSET, start + 1, head, [address.lower()])
    assert [(t.to_address, t.amount, t.block_number) for t in found] == [(address, 1_500_000, head)]
    assert found[0].block_hash == await chain.block_hash(head)
    assert {t.to_address for t in await chain.transfers(ASSET, start + 1, head)} >= {address, other}


async def test_a_signed_transfer_is_mined_once_however_often_it_is_broadcast(chain, ctx) -> None:
    intent = await funded_sender(ctx, chain, 2_000_000)
    payer = chain.fee_payer(intent).address
    nonce = await chain.pending_nonce(payer)
    signed = await chain.sign_transfer(intent, nonce)
    assert await chain.receipt(signed.tx_hash) is None
    await chain.broadcast(signed)
    await chain.broadcast(signed)
    assert await chain.pending_nonce(payer) == nonce + 1
    head = await chain.mine(1)
    receipt = await chain.receipt(signed.tx_hash)
    assert receipt is not None and receipt.succeeded and receipt.block_number == head
    assert receipt.block_hash == await chain.block_hash(head)
    assert await chain.balance_of(ASSET, intent.from_address) == 0
    moved = [t for t in await chain.transfers(ASSET, head, head) if t.tx_hash == signed.tx_hash]
    assert len(moved) == 1 and moved[0].amount == 2_000_000 and moved[0].from_address == intent.from_address


async def test_a_transfer_beyond_the_balance_fails_on_chain(chain, ctx) -> None:
    intent = await funded_sender(ctx, chain, 1_000)
    signed = await send(chain, another(intent, 5_000))
    await chain.mine(1)
    receipt = await chain.receipt(signed.tx_hash)
    assert receipt is not None and not receipt.succeeded
    assert await chain.balance_of(ASSET, intent.from_address) == 1_000


async def test_a_used_nonce_is_refused(chain, ctx) -> None:
    intent = await funded_sender(ctx, chain, 3_000)
    first = await send(chain, another(intent, 1_000))
    await chain.mine(1)
    rival = await chain.sign_transfer(another(intent, 2_000), first.nonce)
    with pytest.raises(NonceTooLow):
        await chain.broadcast(rival)


async def test_a_reorganisation_removes_a_transfer_until_it_is_broadcast_again(chain, ctx) -> None:
    intent = await funded_sender(ctx, chain, 4_000)
    signed = await send(chain, intent)
    head = await chain.mine(1)
    assert await chain.receipt(signed.tx_hash) is not None
    await chain.reorg(1)
    assert await chain.head() == head
    assert await chain.receipt(signed.tx_hash) is None
    assert all(t.tx_hash != signed.tx_hash for t in await chain.transfers(ASSET, head, head))
    await chain.broadcast(signed)
    await chain.mine(1)
    receipt = await chain.receipt(signed.tx_hash)
    assert receipt is not None and receipt.succeeded
