"""Fee arithmetic (spec 2.4): ``amountNet = amountGross - fees`` on each side, and
``source.amountNet * exchangeRate = destination.amountGross``. All in integers of the smallest unit."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from oms.kit.money import divide_half_even


class PricingError(ValueError):
    """No positive amount can be delivered under this schedule."""


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """A fee of ``rate`` * gross, rounded half-even to the smallest unit, plus ``fixed`` smallest units.

    The arithmetic is on integers: the rate is held as the exact ratio of two integers, so the fee is exact for
    a rate of any number of places (a Decimal product is rounded to its context's 28 digits first, and that
    rounding could decide a tie the wrong way: docs/decisions.md, "Fee arithmetic")."""

    rate: Decimal  # of the gross amount: 0 <= rate < 1
    fixed: int  # smallest units, >= 0
    _ratio: tuple[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Below 1: at 1 or above no gross ever delivers a positive amount (and a fixed destination never ends).
        if not (self.rate.is_finite() and 0 <= self.rate < 1):
            raise ValueError(f"a fee rate is at least 0 and below 1, not {self.rate}")
        if type(self.fixed) is not int or self.fixed < 0:
            raise ValueError(f"a fixed fee is a whole number of smallest units, at least 0, not {self.fixed!r}")
        object.__setattr__(self, "_ratio", self.rate.as_integer_ratio())

    def fee_for(self, gross: int) -> int:
        numerator, denominator = self._ratio
        return divide_half_even(gross * numerator, denominator) + self.fixed


@dataclass(frozen=True, slots=True)
class Price:
    fixed_side: str
    source_gross: int
    fee: int

    @property
    def source_net(self) -> int:
        return self.source_gross - self.fee

    @property
    def destination_gross(self) -> int:  # same asset, rate 1: what leaves the source arrives
        return self.source_net

    @property
    def destination_net(self) -> int:  # gas is sponsored and nothing is charged on arrival
        return self.destination_gross


def fixed_source(amount: int, schedule: FeeSchedule) -> Price:
    fee = schedule.fee_for(amount)
    if amount - fee <= 0:
        raise PricingError("the amount does not cover the fees")
    return Price("source", amount, fee)


def fixed_destination(amount: int, schedule: FeeSchedule) -> Price:
    """The smallest gross whose net reaches ``amount``; its fee absorbs the rounding remainder, so the
    recipient gets exactly ``amount``."""
    if amount <= 0:
        raise PricingError("the amount must be positive")
    numerator, denominator = schedule.rate.as_integer_ratio()
    # The net never falls as the gross rises, and it reaches ``amount`` once the rate's share of the gross,
    # rounded, leaves ``amount + fixed``: once g * (1 - rate) > amount + fixed - 1/2. The smallest such g is
    # ``estimate`` or the one after (exactly, in integers), so each loop below takes a step or two: the
    # rounding is worth up to 1 / (2 (1 - rate)) units of gross, far more than one for a rate close to 1.
    estimate = (2 * (amount + schedule.fixed) - 1) * denominator // (2 * (denominator - numerator))
    gross = max(amount, estimate - 1)
    while gross - schedule.fee_for(gross) < amount:
        gross += 1
    while gross - 1 >= amount and (gross - 1) - schedule.fee_for(gross - 1) >= amount:
        gross -= 1
    return Price("destination", gross, gross - amount)
