"""Quotes through the HTTP API: validation that names the field, the endorsement they need, and their state
(an expired quote is not executed, an accepted one is not executed twice)."""

from __future__ import annotations

from tests.support import (
    EXTERNAL,
    Api,
    OffsetClock,
    assert_error,
    balance,
    create_customer,
    execute,
    funded_wallet,
    quote,
)


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
