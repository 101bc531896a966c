"""Properties of the funding fees (oms/funding/fees.py) for any schedule the configuration accepts: the fixed
fee is exactly the configured cents (one more precise is refused, never truncated), the fee is never negative
and an integer, ``gross = net + fee``, the snapshot a cash-in keeps gives back the same schedule, and cents
become stablecoin units exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from oms.config import Settings
from oms.funding.fees import FiatFees, effective_rate, parse, to_token, usd
from oms.kit.money import ASSETS, MAX_MAJOR_AMOUNT

USD_MAXIMUM = ASSETS["usd"].max_amount
cents = st.integers(0, USD_MAXIMUM)


@st.composite
def rates(draw: st.DrawFn) -> Decimal:
    places = draw(st.integers(0, 12))
    numerator = draw(st.integers(0, 10**places - 1) if places else st.just(0))
    return Decimal(f"{numerator}e-{places}")  # exact: scaleb() would round to the context's 28 digits


@st.composite
def configured(draw: st.DrawFn) -> tuple[Decimal, int, Decimal]:
    """(rate, fixed cents, the fixed fee as configured in major units, in any of its spellings)."""
    rate, fixed = draw(rates()), draw(st.integers(0, 10_000) | cents)
    spelling = draw(st.sampled_from(["plain", "padded", "scientific"]))
    major = Decimal(fixed).scaleb(-2)
    if spelling == "padded":
        major = major.quantize(Decimal("0.0001"))
    elif spelling == "scientific":
        major = major.normalize()
    return rate, fixed, major


@given(configured())
@example((Decimal("0.015"), 50, Decimal("0.50")))
@example((Decimal(0), 1000, Decimal("1E+1")))
def test_the_configured_fixed_fee_is_exactly_its_cents(case: tuple[Decimal, int, Decimal]) -> None:
    rate, fixed, major = case
    fees = FiatFees.of(rate, major)
    assert fees.fixed == fixed and type(fees.fixed) is int
    assert FiatFees.from_snapshot(fees.snapshot()) == fees


@given(st.integers(0, 10**6), st.integers(1, 9))
@example(50, 5)  # 0.505 USD was charged as 0.50
def test_a_fixed_fee_more_precise_than_a_cent_is_refused_not_truncated(whole_cents: int, tenth: int) -> None:
    major = Decimal(whole_cents * 10 + tenth).scaleb(-3)
    with pytest.raises(ValueError, match="decimal places"):
        FiatFees.of(Decimal("0.01"), major)


@pytest.mark.parametrize("name", ["fee_cash_in_fixed", "fee_ach_in_fixed", "fee_wire_in_fixed", "fee_swift_in_fixed"])
def test_the_configuration_refuses_a_fiat_fixed_fee_more_precise_than_a_cent(settings: Settings, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings(**{**settings.model_dump(), name: "0.505"})
    assert getattr(Settings(**{**settings.model_dump(), name: "0.5000"}), name) == Decimal("0.5")


def test_the_configuration_refuses_a_crypto_fixed_fee_more_precise_than_the_token(settings: Settings) -> None:
    with pytest.raises(ValueError, match="fee_crypto_to_crypto_fixed"):
        Settings(**{**settings.model_dump(), "fee_crypto_to_crypto_fixed": "0.0000001"})
    padded = Settings(**{**settings.model_dump(), "fee_crypto_to_crypto_fixed": "0.0100000"})
    assert format(padded.fee_crypto_to_crypto_fixed, "f") == "0.01"


@given(configured(), cents)
def test_the_fee_is_a_non_negative_integer_and_gross_is_net_plus_fee(
    case: tuple[Decimal, int, Decimal], gross: int
) -> None:
    rate, _, major = case
    fees = FiatFees.of(rate, major)
    fee = fees.fee_for(gross)
    assert type(fee) is int and fee >= fees.fixed >= 0
    net = gross - fee
    assert net + fee == gross
    if net > 0:  # what a deposit delivers, in the stablecoin's units: exact, never rounded
        assert to_token(net, "usdc") == net * 10 ** (ASSETS["usdc"].decimals - ASSETS["usd"].decimals)
        assert Decimal(effective_rate(Decimal(net), Decimal(gross))) <= 1


@given(st.integers(1, USD_MAXIMUM))
def test_dollars_render_and_parse_back(amount: int) -> None:
    assert parse(usd(amount), "usd", param="amount") == amount


def test_the_largest_fixed_fee_is_the_maximum_amount() -> None:
    assert FiatFees.of(Decimal(0), Decimal(MAX_MAJOR_AMOUNT)).fixed == USD_MAXIMUM
    with pytest.raises(ValueError):
        FiatFees.of(Decimal(0), Decimal(MAX_MAJOR_AMOUNT) + Decimal("0.01"))
