"""EvmChainAdapter against a real anvil node (never a mock): reads, sponsored sends, replacement, reorgs."""

from __future__ import annotations

import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from eth_account.typed_transactions import TypedTransaction
from hexbytes import HexBytes

from oms.chain.anvil import DEV_ACCOUNT, AnvilChain
from oms.chain.evm import EvmChainAdapter
from oms.chain.port import ChainError, ChainUnavailable, NonceTooLow, SignedTransfer, TransferIntent
from oms.context import AppContext
from tests.chain.anvil import anvil_settings

OUTSIDER = "0x000000000000000000000000000000000000bEEF"


async def custody_address(ctx: AppContext) -> tuple[int, str]:
    async with ctx.db.session_scope() as session:
        return await ctx.custody.new_address(session, purpose="test")


async def funded_customer(ctx: AppContext, chain: AnvilChain, amount: int) -> tuple[int, str]:
    index, address = await custody_address(ctx)
    await chain.mint("usdc", address, amount)
    await chain.mine()
    return index, address


def intent(index: int, address: str, to: str, amount: int, reference: str | None = None) -> TransferIntent:
    """A payment; each call is a different payment unless ``reference`` names the same one."""
    return TransferIntent(
        asset="usdc",
        from_address=address,
        from_key_index=index,
        to_address=to,
        amount=amount,
        reference=reference or uuid.uuid4().hex,
    )


async def send(chain: AnvilChain, transfer: TransferIntent, *, fee_bump: int = 0) -> SignedTransfer:
    nonce = await chain.pending_nonce(chain.fee_payer(transfer).address)
    signed = await chain.sign_transfer(transfer, nonce, fee_bump=fee_bump)
    await chain.broadcast(signed)
    return signed


def fields(signed: SignedTransfer) -> dict[str, Any]:
    return dict(TypedTransaction.from_bytes(HexBytes(signed.raw)).as_dict())


async def test_head_and_block_hash_follow_mined_blocks(anvil_chain: AnvilChain) -> None:
    start = await anvil_chain.head()
    assert await anvil_chain.mine(2) == start + 2
    hashes = [await anvil_chain.block_hash(number) for number in range(start, start + 3)]
    assert all(h is not None and h.startswith("0x") and len(h) == 66 for h in hashes)
    assert len(set(hashes)) == 3
    assert await anvil_chain.block_hash(start + 3) is None
    assert await anvil_chain.block_hash(-1) is None


async def test_balance_of_counts_minted_tokens_once_mined(ctx: AppContext, anvil_chain: AnvilChain) -> None:
    _, address = await custody_address(ctx)
    await anvil_chain.mint("usdc", address, 5_000_000)
    assert await anvil_chain.balance_of("usdc", address) == 0
    await anvil_chain.mine()
    assert await anvil_chain.balance_of("usdc", address.lower()) == 5_000_000


async def test_transfers_finds_transfers_to_our_addresses_only(ctx: AppContext, anvil_chain: AnvilChain) -> None:
    _, ours = await custody_address(ctx)
    first = await anvil_chain.head() + 1
    mint_hash = await anvil_chain.mint("usdc", ours, 7)
    await anvil_chain.mint("usdc", OUTSIDER, 9)
    last = await anvil_chain.mine()

    found = await anvil_chain.transfers("usdc", first, last, [ours.lower()])
    assert [(t.tx_hash, t.to_address, t.amount, t.block_number) for t in found] == [(mint_hash, ours, 7, last)]
    assert found[0].from_address == "0x" + "00" * 20
    assert found[0].block_hash == await anvil_chain.block_hash(last)

    everything = await anvil_chain.transfers("usdc", first, last)
    assert [t.amount for t in everything] == [7, 9]
    assert await anvil_chain.transfers("usdc", first, last, []) == []
    assert await anvil_chain.transfers("usdc", last + 1, last) == []


async def test_transfers_pages_long_ranges(ctx: AppContext, anvil_chain: AnvilChain) -> None:
    _, ours = await custody_address(ctx)
    first = await anvil_chain.head() + 1
    for amount in (1, 2, 3):
        await anvil_chain.mint("usdc", ours, amount)
        await anvil_chain.mine()
    last = await anvil_chain.head()
    paged = AnvilChain(
        anvil_chain.settings.model_copy(update={"evm_log_block_chunk": 2}), custody=ctx.custody, db=ctx.db
    )
    try:
        assert [t.amount for t in await paged.transfers("usdc", first, last, [ours])] == [1, 2, 3]
    finally:
        await paged.close()


async def test_relayed_transfer_is_paid_by_the_gas_account(ctx: AppContext, anvil_chain: AnvilChain) -> None:
    index, customer = await funded_customer(ctx, anvil_chain, 10_000_000)
    _, recipient = await custody_address(ctx)
    transfer = intent(index, customer, recipient, 4_000_000)
    gas = anvil_chain.fee_payer(transfer)
    assert gas == anvil_chain.gas_account and gas.address != customer
    gas_before = await anvil_chain.native_balance(gas.address)

    signed = await send(anvil_chain, transfer)
    assert signed.fee_payer == gas.address
    assert await anvil_chain.receipt(signed.tx_hash) is None  # pending until a block is mined
    block = await anvil_chain.mine()

    receipt = await anvil_chain.receipt(signed.tx_hash)
    assert receipt is not None and receipt.succeeded and receipt.block_number == block
    assert await anvil_chain.balance_of("usdc", customer) == 6_000_000
    assert await anvil_chain.balance_of("usdc", recipient) == 4_000_000
    assert await anvil_chain.native_balance(customer) == 0  # the customer never held or spent gas
    assert await anvil_chain.pending_nonce(customer) == 0
    assert await anvil_chain.native_balance(gas.address) < gas_before
    [seen] = await anvil_chain.transfers("usdc", block, block, [recipient])
    assert (seen.tx_hash, seen.from_address, seen.amount) == (signed.tx_hash, customer, 4_000_000)


async def test_identical_sends_at_consecutive_nonces_all_mine(ctx: AppContext, anvil_chain: AnvilChain) -> None:
    """Twenty equal payments from one wallet: each relay has its own gas nonce and authorization."""
    index, customer = await funded_customer(ctx, anvil_chain, 20_000_000)
    first = await anvil_chain.pending_nonce(anvil_chain.gas_account.address)
    payments = [intent(index, customer, OUTSIDER, 1_000_000) for _ in range(20)]
    sends = [await anvil_chain.sign_transfer(payment, first + i) for i, payment in enumerate(payments)]
    for signed in sends:
        await anvil_chain.broadcast(signed)
    await anvil_chain.mine()
    receipts = [await anvil_chain.receipt(signed.tx_hash) for signed in sends]
    assert all(receipt is not None and receipt.succeeded for receipt in receipts)
    assert await anvil_chain.balance_of("usdc", OUTSIDER) == 20_000_000
    assert await anvil_chain.pending_nonce(anvil_chain.gas_account.address) == first + 20


async def test_one_payment_signed_at_two_fee_payer_nonces_moves_money_once(
    ctx: AppContext, anvil_chain: AnvilChain
) -> None:
    """A send re-signed at a new gas nonce (after its nonce was taken) carries the same authorization."""
    index, customer = await funded_customer(ctx, anvil_chain, 5_000_000)
    payment = intent(index, customer, OUTSIDER, 2_000_000)
    first = await anvil_chain.pending_nonce(anvil_chain.gas_account.address)
    for nonce in (first, first + 1):
        await anvil_chain.broadcast(await anvil_chain.sign_transfer(payment, nonce))
    await anvil_chain.mine()
    assert await anvil_chain.balance_of("usdc", OUTSIDER) == 2_000_000
    assert await anvil_chain.balance_of("usdc", customer) == 3_000_000


async def test_signing_is_pure_for_the_same_attempt(ctx: AppContext, anvil_chain: AnvilChain) -> None:
    index, customer = await funded_customer(ctx, anvil_chain, 1_000_000)
    transfer = intent(index, customer, OUTSIDER, 1)
    nonce = await anvil_chain.pending_nonce(anvil_chain.gas_account.address)
    first = await anvil_chain.sign_transfer(transfer, nonce)
    assert await anvil_chain.sign_transfer(transfer, nonce) == first
    assert await anvil_chain.pending_nonce(anvil_chain.gas_account.address) == nonce  # nothing was sent


async def test_broadcasting_the_same_bytes_again_is_fine(ctx: AppContext, anvil_chain: AnvilChain) -> None:
    index, customer = await funded_customer(ctx, anvil_chain, 1_000_000)
    signed = await send(anvil_chain, intent(index, customer, OUTSIDER, 300_000))
    await anvil_chain.broadcast(signed)  # still pending
    await anvil_chain.mine()
    await anvil_chain.broadcast(signed)  # already mined
    await anvil_chain.mine()
    assert await anvil_chain.balance_of("usdc", OUTSIDER) == 300_000


async def test_a_nonce_taken_by_another_transaction_is_nonce_too_low(ctx: AppContext, anvil_chain: AnvilChain) -> None:
    index, customer = await funded_customer(ctx, anvil_chain, 1_000_000)
    nonce = await anvil_chain.pending_nonce(anvil_chain.gas_account.address)
    mine = await anvil_chain.sign_transfer(intent(index, customer, OUTSIDER, 1), nonce)
    other = await anvil_chain.sign_transfer(intent(index, customer, OUTSIDER, 2), nonce)
    await anvil_chain.broadcast(other)
    await anvil_chain.mine()
    with pytest.raises(NonceTooLow):
        await anvil_chain.broadcast(mine)


async def test_transfer_above_the_balance_is_mined_as_failed(ctx: AppContext, anvil_chain: AnvilChain) -> None:
    index, customer = await funded_customer(ctx, anvil_chain, 1_000_000)
    signed = await send(anvil_chain, intent(index, customer, OUTSIDER, 1_000_001))
    await anvil_chain.mine()
    receipt = await anvil_chain.receipt(signed.tx_hash)
    assert receipt is not None and not receipt.succeeded
    assert await anvil_chain.balance_of("usdc", customer) == 1_000_000


async def test_fee_bumped_replacement_is_mined_instead_of_the_original(
    ctx: AppContext, anvil_chain: AnvilChain
) -> None:
    index, customer = await funded_customer(ctx, anvil_chain, 1_000_000)
    transfer = intent(index, customer, OUTSIDER, 250_000)
    original = await send(anvil_chain, transfer)
    replacement = await anvil_chain.sign_transfer(transfer, original.nonce, fee_bump=1)
    assert replacement.nonce == original.nonce and replacement.tx_hash != original.tx_hash
    before, after = fields(original), fields(replacement)
    assert after["maxFeePerGas"] * 8 >= before["maxFeePerGas"] * 9
    assert after["maxPriorityFeePerGas"] * 8 >= before["maxPriorityFeePerGas"] * 9
    assert after["data"] == before["data"]  # the same customer authorization: at most one can execute

    await anvil_chain.broadcast(replacement)
    await anvil_chain.mine()
    assert await anvil_chain.receipt(original.tx_hash) is None
    receipt = await anvil_chain.receipt(replacement.tx_hash)
    assert receipt is not None and receipt.succeeded
    assert await anvil_chain.balance_of("usdc", OUTSIDER) == 250_000


async def test_a_replacement_signed_by_a_restarted_process_still_outbids(
    ctx: AppContext, anvil_chain: AnvilChain
) -> None:
    index, customer = await funded_customer(ctx, anvil_chain, 1_000_000)
    transfer = intent(index, customer, OUTSIDER, 1)
    original = await send(anvil_chain, transfer)
    restarted = AnvilChain(anvil_chain.settings, custody=ctx.custody, db=ctx.db)  # no memory of attempt 0
    await restarted.start()
    try:
        replacement = await restarted.sign_transfer(transfer, original.nonce, fee_bump=1)
    finally:
        await restarted.close()
    assert fields(replacement)["maxFeePerGas"] * 8 >= fields(original)["maxFeePerGas"] * 9
    await anvil_chain.broadcast(replacement)
    await anvil_chain.mine()
    assert await anvil_chain.receipt(replacement.tx_hash) is not None


async def test_a_replacement_beyond_the_fee_cap_is_refused(ctx: AppContext, anvil_chain: AnvilChain) -> None:
    index, customer = await funded_customer(ctx, anvil_chain, 1_000_000)
    capped = AnvilChain(anvil_chain.settings.model_copy(update={"evm_max_fee_gwei": 1}), custody=ctx.custody, db=ctx.db)
    await capped.start()
    try:
        transfer = intent(index, customer, OUTSIDER, 1)
        nonce = await capped.pending_nonce(capped.gas_account.address)
        assert fields(await capped.sign_transfer(transfer, nonce))["maxFeePerGas"] == 10**9
        with pytest.raises(ChainError, match="OMS_EVM_MAX_FEE_GWEI"):
            await capped.sign_transfer(transfer, nonce, fee_bump=1)
    finally:
        await capped.close()


async def test_a_copied_authorization_submitted_first_still_counts_as_sent(
    ctx: AppContext, anvil_chain: AnvilChain
) -> None:
    """Anyone may submit an EIP-3009 authorization seen in the mempool; the money then moves as intended
    and our relay reverts, which must not be reported as a failed send."""
    index, customer = await funded_customer(ctx, anvil_chain, 1_000_000)
    signed = await send(anvil_chain, intent(index, customer, OUTSIDER, 400_000))
    relay = fields(signed)
    await anvil_chain.set_native_balance(DEV_ACCOUNT, 10**20)
    w3 = anvil_chain._w3
    await w3.eth.send_transaction(
        {"from": DEV_ACCOUNT, "to": relay["to"], "data": relay["data"], "gas": 200_000,
         "maxFeePerGas": relay["maxFeePerGas"] * 4, "maxPriorityFeePerGas": relay["maxFeePerGas"] * 2}
    )  # fmt: skip
    await anvil_chain.mine()
    assert (await w3.eth.get_transaction_receipt(signed.tx_hash))["status"] == 0  # our relay did revert
    receipt = await anvil_chain.receipt(signed.tx_hash)
    assert receipt is not None and receipt.succeeded
    assert await anvil_chain.balance_of("usdc", OUTSIDER) == 400_000


async def test_a_reorg_removes_a_mined_transfer(ctx: AppContext, anvil_chain: AnvilChain) -> None:
    _, ours = await custody_address(ctx)
    mint_hash = await anvil_chain.mint("usdc", ours, 42)
    block = await anvil_chain.mine()
    assert [t.tx_hash for t in await anvil_chain.transfers("usdc", block, block, [ours])] == [mint_hash]
    old_hash = await anvil_chain.block_hash(block)
    assert await anvil_chain.receipt(mint_hash) is not None

    await anvil_chain.reorg(1)

    assert await anvil_chain.head() == block
    assert await anvil_chain.block_hash(block) != old_hash
    assert await anvil_chain.transfers("usdc", block, block, [ours]) == []
    assert await anvil_chain.receipt(mint_hash) is None
    assert await anvil_chain.balance_of("usdc", ours) == 0


async def test_wrong_chain_id_is_refused(ctx: AppContext, anvil_chain: AnvilChain) -> None:
    wrong = EvmChainAdapter(
        anvil_chain.settings.model_copy(update={"evm_chain_id": 137}), custody=ctx.custody, db=ctx.db
    )
    try:
        with pytest.raises(ChainError, match="chain id 31337"):
            await wrong.balance_of("usdc", OUTSIDER)
    finally:
        await wrong.close()


async def test_an_unreachable_node_is_chain_unavailable(ctx: AppContext, settings) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    adapter = EvmChainAdapter(anvil_settings(settings, closed, OUTSIDER), custody=ctx.custody, db=ctx.db)
    try:
        with pytest.raises(ChainUnavailable):
            await adapter.head()
    finally:
        await adapter.close()


class _RateLimited(BaseHTTPRequestHandler):
    """A node that refuses every call, as a hosted provider does over its quota."""

    def do_POST(self) -> None:
        self.send_response(429)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


async def test_chain_errors_never_carry_the_nodes_url_path(ctx: AppContext, settings) -> None:  # type: ignore[no-untyped-def]
    # A hosted node's URL holds its API key (…/v2/<key>); chain errors reach API responses and logs.
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RateLimited)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v2/node-api-key-1234"
    adapter = EvmChainAdapter(anvil_settings(settings, url, OUTSIDER), custody=ctx.custody, db=ctx.db)
    try:
        with pytest.raises(ChainError) as raised:
            await adapter.head()
    finally:
        await adapter.close()
        server.shutdown()
    assert "127.0.0.1" in str(raised.value) and "node-api-key-1234" not in str(raised.value)
