"""Fifty concurrent executions around a daily limit never exceed it: the policy engine counts under a lock on the
customer's row taken inside each execution's transaction (PostgreSQL; SQLite's write transaction is exclusive)."""

from __future__ import annotations

import asyncio

import httpx

from oms.context import AppContext
from tests.controls.support import operator
from tests.policy.support import create_policy
from tests.support import (
    EXTERNAL,
    Api,
    OffsetClock,
    assert_error,
    balance,
    execute,
    funded_wallet,
    ledger_is_sound,
    quote,
)


async def test_fifty_concurrent_executions_never_pass_a_daily_limit(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext, clock: OffsetClock
) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock)
    limits = [{"per": "wallet", "window": "day", "maxCount": 10, "maxAmount": "10.11"}]
    await create_policy(admin_http, await operator(ctx, "admin"), api, {"limits": limits})
    quotes = [(await quote(api, customer, wallet, to=EXTERNAL, amount="1.011")).json()["id"] for _ in range(50)]
    responses = await asyncio.gather(*(execute(api, quote_id) for quote_id in quotes))
    statuses = [response.status_code for response in responses]
    assert statuses.count(201) == 10 and statuses.count(422) == 40, statuses
    for refused in (response for response in responses if response.status_code == 422):
        assert refused.json()["error"]["code"] in {"policy_daily_count_per_wallet", "policy_daily_amount_per_wallet"}
    assert_error(await quote(api, customer, wallet, to=EXTERNAL, amount="1.00"), 422, "policy_daily_count_per_wallet")
    assert await balance(api, wallet) == ("100.00", "89.89", "0.00")
    await ledger_is_sound(ctx, api)
