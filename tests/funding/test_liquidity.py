"""The liquidity address on a development chain: minted exactly what a delivery needs."""

from __future__ import annotations

import asyncio

from tests.funding.support import customer_with_wallet, deposited, location, settle_funding
from tests.support import Api, OffsetClock, balance, ledger_is_sound


async def test_identical_deposits_at_once_are_all_delivered(api: Api, ctx, clock: OffsetClock) -> None:
    people = [await customer_with_wallet(api) for _ in range(4)]
    cvs = await location(api, "CVS")
    answers = await asyncio.gather(*(deposited(api, customer, wallet, cvs, "20.00") for customer, wallet in people))
    assert [a.status_code for a in answers] == [200] * 4
    await settle_funding(ctx, clock)
    for _, wallet in people:
        assert await balance(api, wallet) == ("19.20", "19.20", "0.00")
    await ledger_is_sound(ctx, api)
