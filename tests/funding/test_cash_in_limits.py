"""Cash-in limits at their edges: exactly at a limit succeeds, one cent (or one cash-in) over is a 422 naming
the limit, and a refused deposit credits nothing. Windows are rolling, on the tenant's sandbox clock."""

from __future__ import annotations

import asyncio
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from tests.funding.support import (
    advance,
    barcode_auth,
    cash_in,
    create_cash_in,
    customer_with_wallet,
    deposit,
    deposited,
    location,
    settle_funding,
)
from tests.support import Api, OffsetClock, assert_error, balance, ledger_is_sound


def net_of(*amounts: str) -> str:
    """What the wallet receives for these deposits: each less 1.5 % (half-even to the cent) and 0.50."""
    total = Decimal(0)
    for amount in amounts:
        gross = Decimal(amount)
        total += gross - (gross * Decimal("0.015")).quantize(Decimal("0.01"), ROUND_HALF_EVEN) - Decimal("0.50")
    return f"{total:.2f}"


class Customer:
    """One customer depositing cash at CVS (max 500.00) or Walmart (max 1,000.00)."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.deposits: list[str] = []

    async def start(self) -> Customer:
        self.customer, self.wallet = await customer_with_wallet(self.api)
        self.cvs = await location(self.api, "CVS")
        self.walmart = await location(self.api, "Walmart")
        return self

    async def ok(self, amount: str, *, at: str = "cvs") -> None:
        response = await deposited(self.api, self.customer, self.wallet, getattr(self, at), amount)
        assert response.status_code == 200 and response.json()["responseCode"] == "00", response.text
        self.deposits.append(amount)

    async def refused(self, amount: str, code: str, *, at: str = "cvs") -> dict[str, Any]:
        """A deposit of ``amount`` into a fresh code is refused at the counter; the code stays unused."""
        created = await cash_in(self.api, self.customer, self.wallet, getattr(self, at))
        assert_error(await deposit(self.api, created, amount), 422, code, param="amount")
        still = (await self.api.get(f"/cash-ins/{created['id']}")).json()
        assert still["status"] == "pending" and still["transactionId"] is None
        return created

    async def settled(self, ctx, clock: OffsetClock) -> None:  # type: ignore[no-untyped-def]
        await settle_funding(ctx, clock)
        expected = net_of(*self.deposits)
        assert await balance(self.api, self.wallet) == (expected, expected, "0.00")
        await ledger_is_sound(ctx, self.api)


async def test_each_deposit_is_between_20_and_500_or_1000_at_walmart(api: Api, ctx, clock: OffsetClock) -> None:
    who = await Customer(api).start()
    await who.refused("19.99", "amount_below_minimum")
    await who.ok("20.00")
    await who.refused("500.01", "amount_above_maximum")
    await who.ok("500.00")
    await advance(api, days=1)
    await who.refused("1000.01", "amount_above_maximum", at="walmart")
    await who.ok("1000.00", at="walmart")
    await who.settled(ctx, clock)


async def test_daily_amount_limit_is_1500(api: Api, ctx, clock: OffsetClock) -> None:
    who = await Customer(api).start()
    await who.ok("1000.00", at="walmart")
    await who.ok("480.00")
    pending = await who.refused("20.01", "daily_amount_limit_exceeded")
    assert (await deposit(api, pending, "20.00")).status_code == 200  # exactly 1,500.00
    who.deposits.append("20.00")
    await advance(api, days=1)  # the window rolls on
    await who.ok("20.00")
    await who.settled(ctx, clock)


async def test_daily_count_limit_is_3(api: Api, ctx, clock: OffsetClock) -> None:
    who = await Customer(api).start()
    codes = [await cash_in(api, who.customer, who.wallet, who.cvs) for _ in range(4)]
    for created in codes[:3]:
        assert (await deposit(api, created, "20.00")).status_code == 200
        who.deposits.append("20.00")
    assert_error(await deposit(api, codes[3], "20.00"), 422, "daily_count_limit_exceeded", param="amount")
    # No new code either while no deposit could fit the window.
    assert_error(await create_cash_in(api, who.customer, who.wallet, who.cvs), 422, "daily_count_limit_exceeded",
                 param="customerId")  # fmt: skip
    await advance(api, hours=24)
    assert (await deposit(api, codes[3], "20.00")).status_code == 422  # that code lapsed meanwhile
    await who.ok("20.00")
    await who.settled(ctx, clock)


async def test_weekly_amount_limit_is_3500(api: Api, ctx, clock: OffsetClock) -> None:
    who = await Customer(api).start()
    for _ in range(2):
        await who.ok("1000.00", at="walmart")
        await who.ok("500.00")
        await advance(api, days=1)
    await who.ok("480.00")
    pending = await who.refused("20.01", "weekly_amount_limit_exceeded")
    assert (await deposit(api, pending, "20.00")).status_code == 200  # exactly 3,500.00 in 7 days
    who.deposits.append("20.00")
    await who.settled(ctx, clock)


async def test_weekly_count_limit_is_12(api: Api, ctx, clock: OffsetClock) -> None:
    who = await Customer(api).start()
    for _ in range(4):
        for _ in range(3):
            await who.ok("20.00")
        await advance(api, days=1)
    assert_error(await create_cash_in(api, who.customer, who.wallet, who.cvs), 422, "weekly_count_limit_exceeded",
                 param="customerId")  # fmt: skip
    await advance(api, days=3)  # day 8: the first day's deposits left the window
    await who.ok("20.00")
    await who.settled(ctx, clock)


async def test_monthly_amount_limit_is_5000(api: Api, ctx, clock: OffsetClock) -> None:
    who = await Customer(api).start()
    for amounts in (["1000.00", "500.00"], ["1000.00", "500.00"], ["500.00"]):  # 3,500.00 in week one
        for amount in amounts:
            await who.ok(amount, at="walmart" if amount == "1000.00" else "cvs")
        await advance(api, days=1)
    await advance(api, days=7)
    await who.ok("1000.00", at="walmart")
    await advance(api, days=1)
    await who.ok("480.00")
    pending = await who.refused("20.01", "monthly_amount_limit_exceeded")
    assert (await deposit(api, pending, "20.00")).status_code == 200  # exactly 5,000.00 in 30 days
    who.deposits.append("20.00")
    await who.settled(ctx, clock)


async def test_monthly_count_limit_is_20(api: Api, ctx, clock: OffsetClock) -> None:
    who = await Customer(api).start()
    for per_day in (3, 3, 3, 3):  # 12 in the first week
        for _ in range(per_day):
            await who.ok("20.00")
        await advance(api, days=1)
    await advance(api, days=7)
    for per_day in (3, 3, 2):  # 8 more: 20 in 30 days
        for _ in range(per_day):
            await who.ok("20.00")
        await advance(api, days=1)
    assert_error(await create_cash_in(api, who.customer, who.wallet, who.cvs), 422, "monthly_count_limit_exceeded",
                 param="customerId")  # fmt: skip
    await who.settled(ctx, clock)


async def test_concurrent_commits_cannot_share_the_last_room(api: Api, ctx, clock: OffsetClock) -> None:
    who = await Customer(api).start()
    codes = [await cash_in(api, who.customer, who.wallet, who.cvs) for _ in range(5)]
    commits = []
    for created in codes:  # every authorisation fits on its own: nothing is deposited yet
        code = created["depositInstructions"]["code"]
        authorised = await barcode_auth(api, code, "500.00")
        assert authorised.status_code == 200, authorised.text
        commits.append(
            {
                "accountNumber": code,
                "accountReferenceNumber": "store-1/lane-2",
                "amount": "500.00",
                "originalConfirmationId": authorised.json()["confirmationId"],
            }
        )
    answers = await asyncio.gather(*(api.post("/cash-ins/simulate/auth-commit", body) for body in commits))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 422, 422]
    for refused in (a for a in answers if a.status_code == 422):
        assert refused.json()["error"]["code"] in {"daily_count_limit_exceeded", "daily_amount_limit_exceeded"}
    who.deposits += ["500.00"] * 3
    await who.settled(ctx, clock)
