"""The liquidity address on a development chain: minted exactly what a delivery needs."""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import IntegrityError

from oms.funding.liquidity import mint_on
from tests.funding.support import customer_with_wallet, deposited, location, settle_funding
from tests.support import Api, OffsetClock, balance, ledger_is_sound


class CollidingChain:
    """A development chain whose first mint collides with an identical one made in the same millisecond."""

    def __init__(self) -> None:
        self.calls = 0

    async def mint(self, asset: str, to_address: str, amount: int) -> str:
        self.calls += 1
        if self.calls == 1:
            raise IntegrityError("INSERT INTO sandbox_transactions", {}, Exception("duplicate hash"))
        return "0x" + "ab" * 32


async def test_an_identical_mint_in_the_same_millisecond_is_made_a_millisecond_later() -> None:
    chain = CollidingChain()
    assert await mint_on(chain, "usdc", "0x" + "12" * 20, 5) == "0x" + "ab" * 32
    assert chain.calls == 2


async def test_identical_deposits_at_once_are_all_delivered(api: Api, ctx, clock: OffsetClock) -> None:
    people = [await customer_with_wallet(api) for _ in range(4)]
    cvs = await location(api, "CVS")
    answers = await asyncio.gather(*(deposited(api, customer, wallet, cvs, "20.00") for customer, wallet in people))
    assert [a.status_code for a in answers] == [200] * 4
    await settle_funding(ctx, clock)
    for _, wallet in people:
        assert await balance(api, wallet) == ("19.20", "19.20", "0.00")
    await ledger_is_sound(ctx, api)
