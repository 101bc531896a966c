"""Money moves: deposits, quotes and transactions settled on the sandbox chain, through the HTTP API."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from oms.models import Transaction
from tests.support import (
    Api,
    OffsetClock,
    assert_error,
    balance,
    create_customer,
    create_wallet,
    fields,
    fund,
    ledger_is_sound,
    quote,
    settle,
)

EXTERNAL = "0x00000000000000000000000000000000000000aA".lower()


async def funded_wallet(
    api: Api, ctx, clock: OffsetClock, amount: str = "100.00"
) -> tuple[dict[str, Any], dict[str, Any]]:  # type: ignore[no-untyped-def]
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    await fund(api, wallet, amount)
    await settle(ctx, clock)
    return customer, wallet


async def execute(api: Api, quote_id: str, **extra: Any) -> Any:
    return await api.post("/transactions", {"quoteId": quote_id, **extra})


async def test_a_deposit_is_pending_until_final_then_available(api: Api, ctx, clock: OffsetClock) -> None:
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    await fund(api, wallet, "25.00")
    for chain in ctx.chains.all():
        await chain.mine(1)
    await ctx.deposits.run_once()
    assert await balance(api, wallet) == ("0.00", "0.00", "25.00")
    await settle(ctx, clock)
    assert await balance(api, wallet) == ("25.00", "25.00", "0.00")
    await ledger_is_sound(ctx, api)


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


async def test_expired_quote_is_422_and_holds_nothing(api: Api, ctx, clock: OffsetClock) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock, "10.00")
    offer = (await quote(api, customer, wallet, to=EXTERNAL, amount="1.00")).json()
    clock.advance(minutes=5)
    assert (await api.get(f"/quotes/{offer['id']}")).json()["status"] == "expired"
    assert_error(await execute(api, offer["id"]), 422, "quote_expired", param="quoteId")
    assert await balance(api, wallet) == ("10.00", "10.00", "0.00")


async def test_executing_an_accepted_quote_again_is_409(api: Api, ctx, clock: OffsetClock) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock, "10.00")
    offer = (await quote(api, customer, wallet, to=EXTERNAL, amount="1.00")).json()
    assert (await execute(api, offer["id"])).status_code == 201
    assert_error(await execute(api, offer["id"]), 409, "quote_not_open", param="quoteId")
    assert await balance(api, wallet) == ("10.00", "9.00", "0.00")


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


async def test_a_deposit_reorganised_away_before_final_is_never_credited(api: Api, ctx, clock: OffsetClock) -> None:
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    chain = ctx.chains.get("polygon")
    await fund(api, wallet, "7.00")
    await chain.mine(1)
    await ctx.deposits.run_once()
    assert await balance(api, wallet) == ("0.00", "0.00", "7.00")
    await chain.reorg(1)
    await settle(ctx, clock)
    assert await balance(api, wallet) == ("0.00", "0.00", "0.00")
    await ledger_is_sound(ctx, api)


async def test_a_reorganisation_after_finality_does_not_credit_twice(api: Api, ctx, clock: OffsetClock) -> None:
    _, wallet = await funded_wallet(api, ctx, clock, "7.00")
    await ctx.chains.get("polygon").reorg(2)
    await settle(ctx, clock)
    assert await balance(api, wallet) == ("7.00", "7.00", "0.00")
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


async def test_quote_validation_names_the_field(api: Api, ctx, clock: OffsetClock) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock, "1.00")
    base = {
        "customerId": customer["id"],
        "source": {"walletId": wallet["id"], "asset": "usdc", "network": "polygon", "amount": "1.00"},
        "destination": {"asset": "usdc", "network": "polygon", "wallet": {"blockchainAddress": EXTERNAL}},
    }
    both = {**base, "destination": {**base["destination"], "amount": "1.00"}}
    assert_error(await api.post("/quotes", both), 400, "amount_side")
    precise = {**base, "source": {**base["source"], "amount": "1.0000001"}}
    assert_error(await api.post("/quotes", precise), 400, "invalid_amount", param="source.amount")
    negative = {**base, "source": {**base["source"], "amount": "-1"}}
    assert_error(await api.post("/quotes", negative), 400, "invalid_amount", param="source.amount")
    bad_address = {**base, "destination": {**base["destination"], "wallet": {"blockchainAddress": "0x12"}}}
    assert_error(
        await api.post("/quotes", bad_address), 400, "invalid_address", param="destination.wallet.blockchainAddress"
    )
    other_asset = {**base, "destination": {**base["destination"], "asset": "usdt"}}
    assert_error(await api.post("/quotes", other_asset), 400, "unsupported_pair", param="destination.asset")
    unknown = {**base, "source": {**base["source"], "walletId": "wlt_01h455vb4pex5vsknk084sn02q"}}
    assert_error(await api.post("/quotes", unknown), 404, "resource_missing", param="source.walletId")
    tiny = {**base, "source": {**base["source"], "amount": "0.01"}}
    assert_error(await api.post("/quotes", tiny), 400, "amount_too_small", param="source.amount")


async def test_money_movement_needs_the_basic_endorsement(api: Api) -> None:
    pending = await create_customer(api, firstName="Pending")
    response = await api.post(
        "/quotes",
        {
            "customerId": pending["id"],
            "source": {
                "walletId": "wlt_01h455vb4pex5vsknk084sn02q",
                "asset": "usdc",
                "network": "polygon",
                "amount": "1.00",
            },
            "destination": {"asset": "usdc", "network": "polygon", "wallet": {"blockchainAddress": EXTERNAL}},
        },
    )
    assert_error(response, 403, "endorsement_required", param="customerId")


async def test_unknown_transaction_is_404(api: Api) -> None:
    assert_error(await api.get("/transactions/txn_01h455vb4pex5vsknk084sn02q"), 404, "resource_missing")
