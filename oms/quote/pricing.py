"""Fee arithmetic (spec 2.4): ``amountNet = amountGross - fees`` on each side, and
``source.amountNet * exchangeRate = destination.amountGross``. All in integers of the smallest unit."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from oms.kit.money import round_half_even


class PricingError(ValueError):
    """No positive amount can be delivered under this schedule."""


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    rate: Decimal  # of the gross amount
    fixed: int  # smallest units

    def fee_for(self, gross: int) -> int:
        return round_half_even(Decimal(gross) * self.rate) + self.fixed


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
    estimate = int(((Decimal(amount) + schedule.fixed) / (1 - schedule.rate)).to_integral_value())
    gross = max(amount, estimate - 2)
    while gross - schedule.fee_for(gross) < amount:
        gross += 1
    while gross - 1 >= amount and (gross - 1) - schedule.fee_for(gross - 1) >= amount:
        gross -= 1
    return Price("destination", gross, gross - amount)
