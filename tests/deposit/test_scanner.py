"""The deposit scanner (oms/deposit): tokens arriving at a wallet's address are pending until final, credited
once, and never credited when reorganised away."""

from __future__ import annotations

from tests.support import (
    Api,
    OffsetClock,
    balance,
    create_customer,
    create_wallet,
    fund,
    funded_wallet,
    ledger_is_sound,
    settle,
)


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
