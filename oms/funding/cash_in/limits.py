"""Cash-in limits (spec 2.6): per deposit, and per customer over rolling windows.

* a deposit is at least 20.00 USD and at most 500.00 USD (1,000.00 USD at Walmart);
* a customer deposits at most 1,500.00 USD in 3 cash-ins a day, 3,500.00 USD in 12 a week and
  5,000.00 USD in 20 a month.

Windows are **rolling**, on the tenant's clock: the last 24 hours, 7 days and 30 days up to
now (no time zone to argue about, no midnight reset to game). What counts is cash that was handed over:
cash-ins that are ``processing`` or ``completed``, by the time of their deposit. Issued codes, expired
codes and failed (returned) deposits do not count. Every refusal is a 422 whose ``code`` names the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from oms.errors import Unprocessable
from oms.funding.cash_in import repository
from oms.funding.fees import usd

MINIMUM = 2_000
MAXIMUM = 50_000
MAXIMUM_BY_RETAILER = {"Walmart": 100_000}
COUNTED = ("processing", "completed")


@dataclass(frozen=True, slots=True)
class Window:
    name: str
    span: timedelta
    amount: int
    count: int


WINDOWS = (
    Window("daily", timedelta(days=1), 150_000, 3),
    Window("weekly", timedelta(days=7), 350_000, 12),
    Window("monthly", timedelta(days=30), 500_000, 20),
)


class LimitExceeded(Unprocessable):
    pass


def maximum_for(retailer: str) -> int:
    return MAXIMUM_BY_RETAILER.get(retailer, MAXIMUM)


def check_amount(amount: int, retailer: str, *, param: str) -> None:
    """The per-deposit minimum and maximum."""
    if amount < MINIMUM:
        raise LimitExceeded(
            "amount_below_minimum",
            f"A cash-in must be at least {usd(MINIMUM)} USD; {usd(amount)} USD is below the minimum.",
            param=param,
        )
    maximum = maximum_for(retailer)
    if amount > maximum:
        where = f" at {retailer}" if retailer in MAXIMUM_BY_RETAILER else ""
        raise LimitExceeded(
            "amount_above_maximum",
            f"A cash-in{where} may be at most {usd(maximum)} USD; {usd(amount)} USD is above the maximum.",
            param=param,
        )


async def check_windows(session: AsyncSession, customer_id: str, amount: int, now: datetime, *, param: str) -> None:
    """Would a deposit of ``amount`` now keep the customer within every window?"""
    for window in WINDOWS:
        count, total = await repository.deposits_in_window(session, customer_id, COUNTED, now - window.span, now)
        if count + 1 > window.count:
            raise LimitExceeded(
                f"{window.name}_count_limit_exceeded",
                f"The customer already made {count} cash-ins in the {window.name} window "
                f"(the {window.name} limit is {window.count} cash-ins).",
                param=param,
            )
        if total + amount > window.amount:
            raise LimitExceeded(
                f"{window.name}_amount_limit_exceeded",
                f"A cash-in of {usd(amount)} USD would bring the customer's {window.name} total to "
                f"{usd(total + amount)} USD, over the {window.name} limit of {usd(window.amount)} USD "
                f"({usd(max(0, window.amount - total))} USD left).",
                param=param,
            )
