"""Money moves: quotes executed as transactions and settled on the sandbox chain, through the HTTP API (the
quote's own rules are in tests/quote, deposits in tests/deposit)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from oms.models import Transaction
from tests.support import (
    EXTERNAL,
    Api,
    OffsetClock,
    assert_error,
    balance,
    create_customer,
    create_wallet,
    execute,
    fields,
    funded_wallet,
    ledger_is_sound,
    quote,
    settle,
)


async def test_worked_example_between_two_oms_wallets(api: Api, ctx, clock: OffsetClock) -> None:
    alice, alice_wallet = await funded_wallet(api, ctx, clock)
    bob = await create_customer(api)
    bob_wallet = await create_wallet(api, bob["id"])

    response = await quote(api, alice, alice_wallet, to=bob_wallet, amount="30.00")
    assert response.status_code == 201, response.text
    offer = fields(response.json())
    # fee = 0.1 % of 30.00 + 0.01 = 0.04
    assert (offer.source.amountGross, offer.source.amountNet, offer.source.feesDeducted.total) == (
        "30.00",
        "29.96",
        "0.04",
    )
    assert (offer.destination.amountGross, offer.destination.amountNet) == ("29.96", "29.96")
    assert offer.status == "open" and offer.fixedAmountSide == "source" and offer.sponsorGasCost == "0"

    response = await execute(api, offer.id, partnerTransactionId=42)
    assert response.status_code == 201, response.text
    txn = fields(response.json())
    assert txn.status == "processing" and txn.type == "cryptoToCrypto" and txn.partnerTransactionId == 42
    assert txn.senderCustomerId == alice["id"] and txn.recipientCustomerId == bob["id"]
    assert await balance(api, alice_wallet) == ("100.00", "70.00", "0.00")
    assert (await api.get(f"/quotes/{offer.id}")).json()["status"] == "accepted"

    await settle(ctx, clock)
    done = fields((await api.get(f"/transactions/{txn.id}")).json())
    assert done.status == "completed" and done.completedAt is not None
    assert done.destination.txHash and done.destination.txHash.startswith("0x") and len(done.destination.txHash) == 66
    assert await balance(api, alice_wallet) == ("70.00", "70.00", "0.00")
    assert await balance(api, bob_wallet) == ("29.96", "29.96", "0.00")
    await ledger_is_sound(ctx, api)


async def test_transfer_to_an_external_address(api: Api, ctx, clock: OffsetClock) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock, "10.00")
    offer = (await quote(api, customer, wallet, to=EXTERNAL, amount="5.00", side="destination")).json()
    assert offer["destination"]["wallet"] == {
        "id": None,
        "blockchainAddress": "0x00000000000000000000000000000000000000AA",
    }
    # the smallest gross g with g - (round(0.001 g) + 0.01) = 5.00: 5.015015 (fee 0.015015)
    assert (offer["source"]["amountGross"], offer["source"]["feesDeducted"]["oms"]) == ("5.015015", "0.015015")
    assert offer["destination"]["amountNet"] == "5.00" and offer["fixedAmountSide"] == "destination"
    txn = (await execute(api, offer["id"])).json()
    assert "recipientCustomerId" not in txn
    await settle(ctx, clock)
    assert (await api.get(f"/transactions/{txn['id']}")).json()["status"] == "completed"
    assert await ctx.chains.get("polygon").balance_of("usdc", EXTERNAL) >= 5_000_000
    assert await balance(api, wallet) == ("4.984985", "4.984985", "0.00")
    await ledger_is_sound(ctx, api)


async def test_retry_with_the_same_key_returns_the_original_transaction(api: Api, ctx, clock: OffsetClock) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock, "10.00")
    offer = (await quote(api, customer, wallet, to=EXTERNAL, amount="1.00")).json()
    await api.post("/transactions", {"quoteId": offer["id"]}, key="pay-1")  # the response is "lost"
    retry = await api.post("/transactions", {"quoteId": offer["id"]}, key="pay-1")
    assert retry.status_code == 201 and retry.headers["idempotent-replayed"] == "true"
    async with ctx.db.session_scope(write=False) as session:
        count = await session.scalar(select(func.count()).where(Transaction.quote_id == offer["id"]))
    assert count == 1 and retry.json()["quoteId"] == offer["id"]


async def test_insufficient_funds_is_422_and_moves_nothing(api: Api, ctx, clock: OffsetClock) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock, "1.00")
    offer = (await quote(api, customer, wallet, to=EXTERNAL, amount="1.00", side="destination")).json()
    assert offer["source"]["amountGross"] == "1.011011"
    assert_error(await execute(api, offer["id"]), 422, "insufficient_funds")
    assert (await api.get(f"/quotes/{offer['id']}")).json()["status"] == "open"
    assert await balance(api, wallet) == ("1.00", "1.00", "0.00")


async def test_hundred_concurrent_transactions_funded_for_ten(api: Api, ctx, clock: OffsetClock) -> None:
    # each transfer costs 1.00 + fee (0.001 + 0.01) = 1.011; fund exactly ten of them
    customer, wallet = await funded_wallet(api, ctx, clock, "10.11")
    quotes = [(await quote(api, customer, wallet, to=EXTERNAL, amount="1.011")).json()["id"] for _ in range(100)]
    responses = await asyncio.gather(*(execute(api, quote_id) for quote_id in quotes))
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 10 and statuses.count(422) == 90, statuses
    for refused in (r for r in responses if r.status_code == 422):
        assert_error(refused, 422, "insufficient_funds")
    assert await balance(api, wallet) == ("10.11", "0.00", "0.00")
    await settle(ctx, clock)
    completed = (await api.get("/transactions", walletId=wallet["id"], status="completed", limit=100)).json()
    assert len(completed["data"]) == 10
    assert await balance(api, wallet) == ("0.00", "0.00", "0.00")
    await ledger_is_sound(ctx, api)


async def test_a_failed_chain_transfer_releases_the_hold(api: Api, ctx, clock: OffsetClock) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock, "10.00")
    offer = (await quote(api, customer, wallet, to=EXTERNAL, amount="4.00")).json()
    txn = (await execute(api, offer["id"])).json()
    await ctx.sender.sign_queued()
    await ctx.sender.broadcast_signed()
    signed = (await api.get(f"/transactions/{txn['id']}")).json()["destination"]["txHash"]
    await ctx.chains.get("polygon").fail_when_mined(signed)  # type: ignore[attr-defined]
    await settle(ctx, clock)
    failed = (await api.get(f"/transactions/{txn['id']}")).json()
    assert failed["status"] == "failed" and failed["error"]["code"] == "chain_transaction_failed"
    assert failed["completedAt"] is None
    assert await balance(api, wallet) == ("10.00", "10.00", "0.00")
    await ledger_is_sound(ctx, api)


async def test_a_send_interrupted_after_broadcast_is_sent_once(api: Api, ctx, clock: OffsetClock) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock, "10.00")
    offer = (await quote(api, customer, wallet, to=EXTERNAL, amount="2.00")).json()
    txn = (await execute(api, offer["id"])).json()
    await ctx.sender.sign_queued()
    # A worker broadcast the stored bytes and died before recording it: the next worker broadcasts again.
    from oms.models import ChainSend, ChainSendAttempt

    async with ctx.db.session_scope(write=False) as session:
        attempt = (
            await session.execute(select(ChainSendAttempt).join(ChainSend).where(ChainSend.reference == txn["id"]))
        ).scalar_one()
    from oms.chain.port import SignedTransfer

    await ctx.chains.get("polygon").broadcast(SignedTransfer(attempt.tx_hash, attempt.raw, attempt.nonce, ""))
    await settle(ctx, clock)
    assert (await api.get(f"/transactions/{txn['id']}")).json()["status"] == "completed"
    chain = ctx.chains.get("polygon")
    sent = [t for t in await chain.transfers("usdc", 0, await chain.head()) if t.from_address == wallet["address"]]
    assert len(sent) == 2  # the principal once, and its fee sweep once
    await ledger_is_sound(ctx, api)


async def test_lists_filter_and_show_each_customers_role(api: Api, ctx, clock: OffsetClock) -> None:
    alice, alice_wallet = await funded_wallet(api, ctx, clock, "10.00")
    bob = await create_customer(api)
    bob_wallet = await create_wallet(api, bob["id"])
    to_bob = (
        await execute(api, (await quote(api, alice, alice_wallet, to=bob_wallet, amount="1.00")).json()["id"])
    ).json()
    clock.advance(milliseconds=10)
    outside = (
        await execute(api, (await quote(api, alice, alice_wallet, to=EXTERNAL, amount="1.00")).json()["id"])
    ).json()

    everything = fields((await api.get("/transactions")).json())
    assert [t.id for t in everything.data] == [outside["id"], to_bob["id"]]
    bobs = (await api.get(f"/customers/{bob['id']}/transactions")).json()
    assert [(t["id"], t["role"]) for t in bobs["data"]] == [(to_bob["id"], "recipient")]
    alices = (await api.get(f"/customers/{alice['id']}/transactions")).json()
    assert {t["role"] for t in alices["data"]} == {"sender"}
    as_sender = (await api.get(f"/transactions/{to_bob['id']}", senderCustomerId=alice["id"])).json()
    assert as_sender["role"] == "sender"
    assert (await api.get("/transactions", walletId=bob_wallet["id"])).json()["data"][0]["id"] == to_bob["id"]
    assert (await api.get("/transactions", status="completed")).json()["data"] == []
    since = (await api.get("/transactions", createdAfter=outside["createdAt"])).json()
    assert [t["id"] for t in since["data"]] == [outside["id"]]
    await settle(ctx, clock)


async def test_unknown_transaction_is_404(api: Api) -> None:
    assert_error(await api.get("/transactions/txn_01h455vb4pex5vsknk084sn02q"), 404, "resource_missing")
