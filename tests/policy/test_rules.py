"""Every rule of a policy at its edges, through the HTTP API (a refusal is a 422 naming the rule, at quote time
and again at execution, with nothing held), with the sandbox test clock for the rolling windows and the
cooling-off period."""

from __future__ import annotations

import httpx

from oms.context import AppContext
from tests.controls.support import operator
from tests.policy.support import advance, create_policy
from tests.support import (
    EXTERNAL,
    Api,
    OffsetClock,
    assert_error,
    balance,
    create_customer,
    create_wallet,
    execute,
    fund,
    funded_wallet,
    ledger_is_sound,
    quote,
    settle,
)

OTHER = "0x00000000000000000000000000000000000000bb"


async def _pay(api: Api, customer: dict, wallet: dict, amount: str, to: dict | str = EXTERNAL) -> None:
    offer = await quote(api, customer, wallet, to=to, amount=amount)
    assert offer.status_code == 201, offer.text
    paid = await execute(api, offer.json()["id"])
    assert paid.status_code == 201, paid.text


async def test_the_amount_per_transaction_is_a_limit_at_its_edge(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext, clock: OffsetClock
) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock)
    await create_policy(admin_http, await operator(ctx, "admin"), api, {"maxAmountPerTransaction": "10.00"})
    assert (await quote(api, customer, wallet, to=EXTERNAL, amount="10.00")).status_code == 201
    refused = await quote(api, customer, wallet, to=EXTERNAL, amount="10.000001")
    assert_error(refused, 422, "policy_amount_per_transaction")
    await ledger_is_sound(ctx, api)


async def test_a_policy_made_after_the_quote_refuses_its_execution_and_holds_nothing(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext, clock: OffsetClock
) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock)
    offer = (await quote(api, customer, wallet, to=EXTERNAL, amount="20.00")).json()
    await create_policy(admin_http, await operator(ctx, "admin"), api, {"maxAmountPerTransaction": "10.00"})
    assert_error(await execute(api, offer["id"]), 422, "policy_amount_per_transaction")
    assert (await api.get(f"/quotes/{offer['id']}")).json()["status"] == "open"
    assert await balance(api, wallet) == ("100.00", "100.00", "0.00")
    await ledger_is_sound(ctx, api)


async def test_the_daily_count_per_wallet_rolls_with_the_test_clock(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext, clock: OffsetClock
) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock)
    limit = {"per": "wallet", "window": "day", "maxCount": 2}
    await create_policy(admin_http, await operator(ctx, "admin"), api, {"limits": [limit]})
    await _pay(api, customer, wallet, "1.00")
    await _pay(api, customer, wallet, "1.00")
    assert_error(await quote(api, customer, wallet, to=EXTERNAL, amount="1.00"), 422, "policy_daily_count_per_wallet")
    await advance(api, 86400 - 60)
    assert_error(await quote(api, customer, wallet, to=EXTERNAL, amount="1.00"), 422, "policy_daily_count_per_wallet")
    await advance(api, 120)
    await _pay(api, customer, wallet, "1.00")
    await ledger_is_sound(ctx, api)


async def test_the_daily_amount_per_customer_counts_every_wallet_of_the_customer(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext, clock: OffsetClock
) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock)
    second = await create_wallet(api, customer["id"], asset="usdt")
    await fund(api, second, "50.00")
    await settle(ctx, clock)
    limit = {"per": "customer", "window": "day", "maxAmount": "20.00"}
    await create_policy(admin_http, await operator(ctx, "admin"), api, {"limits": [limit]})
    await _pay(api, customer, second, "15.00")  # from the customer's other wallet: it counts for the customer
    assert_error(
        await quote(api, customer, wallet, to=EXTERNAL, amount="5.000001"), 422, "policy_daily_amount_per_customer"
    )
    await _pay(api, customer, wallet, "5.00")  # exactly the limit
    await ledger_is_sound(ctx, api)


async def test_the_weekly_count_outlasts_a_day(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext, clock: OffsetClock
) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock)
    limit = {"per": "customer", "window": "week", "maxCount": 1}
    await create_policy(admin_http, await operator(ctx, "admin"), api, {"limits": [limit]})
    await _pay(api, customer, wallet, "1.00")
    await advance(api, 86400 * 2)
    assert_error(
        await quote(api, customer, wallet, to=EXTERNAL, amount="1.00"), 422, "policy_weekly_count_per_customer"
    )
    await advance(api, 86400 * 5 + 60)
    await _pay(api, customer, wallet, "1.00")
    await ledger_is_sound(ctx, api)


async def test_a_deny_listed_address_never_receives(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext, clock: OffsetClock
) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock)
    await create_policy(admin_http, await operator(ctx, "admin"), api, {"denyList": [EXTERNAL]})
    assert_error(await quote(api, customer, wallet, to=EXTERNAL, amount="0.02"), 422, "policy_deny_list")
    await _pay(api, customer, wallet, "1.00", to=OTHER)
    await ledger_is_sound(ctx, api)


async def test_deny_by_default_lets_only_allow_listed_addresses_receive(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext, clock: OffsetClock
) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock)
    rules = {"denyByDefault": True, "allowList": [OTHER]}
    await create_policy(admin_http, await operator(ctx, "admin"), api, rules)
    assert_error(await quote(api, customer, wallet, to=EXTERNAL, amount="1.00"), 422, "policy_not_allow_listed")
    await _pay(api, customer, wallet, "1.00", to=OTHER)
    own = await create_wallet(api, (await create_customer(api))["id"])
    await _pay(api, customer, wallet, "1.00", to=own)  # an OMS wallet is not an external destination
    await ledger_is_sound(ctx, api)


async def test_a_newly_seen_address_receives_more_only_after_the_cooling_off(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext, clock: OffsetClock
) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock)
    rules = {"coolingOff": {"seconds": 3600, "maxAmount": "5.00"}, "allowList": [OTHER]}
    await create_policy(admin_http, await operator(ctx, "admin"), api, rules)
    assert_error(await quote(api, customer, wallet, to=EXTERNAL, amount="5.01"), 422, "policy_cooling_off")
    await _pay(api, customer, wallet, "5.00", to=EXTERNAL)  # at most the set amount: first seen now
    await _pay(api, customer, wallet, "20.00", to=OTHER)  # allow-listed: no cooling-off
    await advance(api, 3500)
    assert_error(await quote(api, customer, wallet, to=EXTERNAL, amount="6.00"), 422, "policy_cooling_off")
    await advance(api, 100)
    await _pay(api, customer, wallet, "6.00", to=EXTERNAL)
    await ledger_is_sound(ctx, api)


async def test_a_policy_narrowed_to_a_wallet_leaves_the_others_alone(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext, clock: OffsetClock
) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock)
    other_customer, other_wallet = await funded_wallet(api, ctx, clock)
    admin = await operator(ctx, "admin")
    await create_policy(admin_http, admin, api, {"maxAmountPerTransaction": "1.00"}, walletId=wallet["id"])
    assert_error(await quote(api, customer, wallet, to=EXTERNAL, amount="2.00"), 422, "policy_amount_per_transaction")
    await _pay(api, other_customer, other_wallet, "2.00")
    await create_policy(admin_http, admin, api, {"maxAmountPerTransaction": "1.00"}, customerId=other_customer["id"])
    assert_error(
        await quote(api, other_customer, other_wallet, to=EXTERNAL, amount="2.00"), 422, "policy_amount_per_transaction"
    )
    await ledger_is_sound(ctx, api)


async def test_another_tenants_policy_does_not_apply(
    admin_http: httpx.AsyncClient, api: Api, other_api: Api, ctx: AppContext, clock: OffsetClock
) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock)
    await create_policy(admin_http, await operator(ctx, "admin"), other_api, {"maxAmountPerTransaction": "1.00"})
    await _pay(api, customer, wallet, "2.00")
    await ledger_is_sound(ctx, api)
