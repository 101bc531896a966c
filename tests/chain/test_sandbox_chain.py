"""Behaviour particular to the sandbox chain (the shared contract is in test_contract.py)."""

from __future__ import annotations

import uuid

from oms.chain.port import TransferIntent
from oms.chain.registry import sandbox_chain_database
from oms.chain.sandbox import SandboxChain


async def fresh_chain(ctx) -> SandboxChain:  # type: ignore[no-untyped-def]
    chain = SandboxChain(
        f"sandbox-{uuid.uuid4().hex[:8]}",
        db=sandbox_chain_database(ctx.settings, ctx.db),
        custody=ctx.custody,
        clock=ctx.clock,
        confirmations=3,
    )
    await chain.start()
    return chain


async def test_identical_mints_at_the_same_instant_are_two_transactions(ctx) -> None:
    chain = await fresh_chain(ctx)
    address = "0x" + "12" * 20
    first, second = await chain.mint("usdc", address, 5), await chain.mint("usdc", address, 5)
    assert first != second
    await chain.mine(1)
    assert await chain.balance_of("usdc", address) == 10


async def test_a_mint_funds_a_transfer_later_in_the_same_block(ctx) -> None:
    chain = await fresh_chain(ctx)
    async with ctx.db.session_scope() as session:
        index, address = await ctx.custody.new_address(session, purpose="sandbox-test")
    await chain.mint("usdc", address, 7_000)
    intent = TransferIntent("usdc", address, index, "0x" + "34" * 20, 7_000, uuid.uuid4().hex)
    signed = await chain.sign_transfer(intent, await chain.pending_nonce(address))
    await chain.broadcast(signed)
    head = await chain.mine(1)
    receipt = await chain.receipt(signed.tx_hash)
    assert receipt is not None and receipt.succeeded and receipt.block_number == head
