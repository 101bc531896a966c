"""Properties of the quote's fee arithmetic (oms/quote/pricing.py), for any schedule the configuration accepts
(a rate from 0 to below 1, with any number of places; a fixed fee from 0 to the maximum amount) and any
amount up to the maximum: the fee is the rate's share rounded half-even plus the fixed fee, exactly (checked
against rational arithmetic); ``gross = net + fee`` on both sides; a fixed destination is delivered exactly,
from the smallest gross that reaches it, its fee absorbing the rounding in the house's favour."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from oms.kit.money import ASSETS
from oms.quote.pricing import FeeSchedule, PricingError, fixed_destination, fixed_source

MAXIMUM = ASSETS["usdc"].max_amount
amounts = st.integers(1, MAXIMUM)


@st.composite
def rates(draw: st.DrawFn) -> Decimal:
    places = draw(st.integers(0, 30))
    numerator = draw(st.integers(0, 10**places - 1) if places else st.just(0))
    return Decimal(f"{numerator}e-{places}")  # exact: scaleb() would round to the context's 28 digits


schedules = st.builds(FeeSchedule, rates(), st.integers(0, MAXIMUM) | st.integers(0, 100))


def exact_fee(gross: int, schedule: FeeSchedule) -> int:
    """The fee in rational arithmetic: Python's ``round`` of a Fraction is half to even."""
    return round(Fraction(gross) * Fraction(schedule.rate)) + schedule.fixed


@given(st.integers(0, MAXIMUM), schedules)
# Regression: the Decimal product, rounded to 28 digits, was 0.4999… away from the exact 0.5000… (one unit more).
@example(210311365701183, FeeSchedule(Decimal("0.1617887069133187791368212483"), 0))
@example(684915271066246, FeeSchedule(Decimal("0.4378050283419227019869746614"), 0))
def test_the_fee_is_the_rate_s_share_rounded_half_even_plus_the_fixed_fee(gross: int, schedule: FeeSchedule) -> None:
    fee = schedule.fee_for(gross)
    assert type(fee) is int and fee >= 0
    assert fee == exact_fee(gross, schedule)


@given(amounts, schedules)
def test_a_fixed_source_is_gross_equals_net_plus_fee_and_the_rest_arrives(amount: int, schedule: FeeSchedule) -> None:
    try:
        price = fixed_source(amount, schedule)
    except PricingError:
        assert amount - schedule.fee_for(amount) <= 0
        return
    assert price.source_gross == amount and price.fee == schedule.fee_for(amount)
    assert price.source_gross == price.source_net + price.fee and price.source_net > 0
    assert price.destination_gross == price.destination_net == price.source_net


@given(amounts, schedules)
# Regression: a gross beyond the Decimal context's 28 digits was an InvalidOperation (a 500), not a price.
@example(1, FeeSchedule(Decimal("0.999999999999999999999999999999"), 0))
@example(MAXIMUM, FeeSchedule(Decimal("0.999"), MAXIMUM))
def test_a_fixed_destination_arrives_exactly_from_the_smallest_gross_that_reaches_it(
    amount: int, schedule: FeeSchedule
) -> None:
    price = fixed_destination(amount, schedule)
    assert price.destination_net == amount and price.source_gross == price.source_net + price.fee
    assert type(price.fee) is int and price.fee >= schedule.fee_for(price.source_gross)  # the house's rounding
    smaller = price.source_gross - 1
    assert smaller < amount or smaller - schedule.fee_for(smaller) < amount


@pytest.mark.parametrize("rate", [Decimal(1), Decimal("1.5"), Decimal(-1), Decimal("-0.001")])
def test_a_schedule_whose_rate_is_not_below_one_or_is_negative_is_refused(rate: Decimal) -> None:
    # Regression: with a rate of 1 ``fixed_destination`` divided by zero, and above 1 it never returned.
    with pytest.raises(ValueError, match="rate"):
        FeeSchedule(rate, 0)


def test_a_negative_fixed_fee_is_refused() -> None:
    with pytest.raises(ValueError, match="fixed"):
        FeeSchedule(Decimal("0.001"), -1)
