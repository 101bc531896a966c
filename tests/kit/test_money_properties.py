"""Properties of amount parsing and rendering (oms/kit/money.py): every amount an asset can hold renders to a
string that parses back to it, and every other string is refused (more decimals than the asset has, an
exponent, a sign, whitespace, anything above the maximum amount) with an AmountError, never a wrong number."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from oms.kit.money import ASSETS, MAX_MAJOR_AMOUNT, AmountError, format_amount, parse_amount, unit

DECIMALS = sorted({asset.decimals for asset in ASSETS.values()})
decimals = st.sampled_from(DECIMALS)
WIRE = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?")


def maximum(places: int) -> int:
    return MAX_MAJOR_AMOUNT * unit(places)


@st.composite
def accepted(draw: st.DrawFn) -> tuple[int, int]:
    """(decimals, an amount in smallest units from 1 to the maximum), edges drawn as often as the middle."""
    places = draw(decimals)
    amount = draw(st.one_of(st.integers(1, maximum(places)), st.sampled_from([1, unit(places), maximum(places)])))
    return places, amount


@given(accepted())
def test_every_amount_renders_to_text_that_parses_back_to_it(case: tuple[int, int]) -> None:
    places, amount = case
    text = format_amount(amount, places)
    assert WIRE.fullmatch(text), text
    assert parse_amount(text, places) == amount


@given(accepted())
def test_the_rendering_has_at_least_two_places_and_no_trailing_zero_beyond_them(case: tuple[int, int]) -> None:
    places, amount = case
    whole, _, fraction = format_amount(amount, places).partition(".")
    assert len(fraction) >= min(2, places) and len(fraction) <= places
    assert len(fraction) <= 2 or not fraction.endswith("0")
    assert int(whole) == amount // unit(places)


@given(decimals)
def test_zero_is_refused_unless_allowed(places: int) -> None:
    with pytest.raises(AmountError):
        parse_amount(format_amount(0, places), places)
    assert parse_amount(format_amount(0, places), places, allow_zero=True) == 0


@given(accepted(), st.integers(1, 6), st.integers(1, 9))
def test_more_decimal_places_than_the_asset_has_are_refused(case: tuple[int, int], extra: int, last: int) -> None:
    places, amount = case
    whole, fraction = divmod(amount, unit(places))
    digits = (str(fraction).rjust(places, "0") if places else "") + "0" * (extra - 1) + str(last)
    with pytest.raises(AmountError) as refused:
        parse_amount(f"{whole}.{digits}", places)
    assert refused.value.code in {"invalid_amount", "amount_too_large"}


@given(decimals, st.integers(1, 10**6))
def test_the_maximum_is_accepted_and_anything_above_it_refused(places: int, above: int) -> None:
    assert parse_amount(format_amount(maximum(places), places), places) == maximum(places)
    with pytest.raises(AmountError) as refused:
        parse_amount(format_amount(maximum(places) + above, places), places)
    assert refused.value.code == "amount_too_large"


@given(decimals, st.integers(0, 10**40))
def test_a_huge_whole_part_is_refused_as_too_large(places: int, whole: int) -> None:
    text = str(MAX_MAJOR_AMOUNT + 1 + whole)
    with pytest.raises(AmountError) as refused:
        parse_amount(text, places)
    assert refused.value.code == "amount_too_large"


def _malformed(text: str) -> list[str]:
    """Ways to spoil a well-formed amount: a sign, an exponent, whitespace, a leading zero, a stray dot."""
    return [
        f"-{text}",
        f"+{text}",
        f"{text}e0",
        f"{text}E2",
        f"{text}e-2",
        f" {text}",
        f"{text} ",
        f"{text}\n",
        f"\n{text}",
        f"{text}\t",
        f"{text}\r\n",
        f"0{text}",
        f"{text}.",
        f".{text}",
        f"{text}_0",
        f"{text},0",
        "\u0661" + text,  # an Arabic-Indic digit: str.isdigit() says yes, the wire form says no
    ]


@given(accepted())
@example((6, 1))  # "0.000001\n"
@example((6, 10**6))  # "1.00\n" was a ValueError (a 500), not an AmountError
@example((2, 100))  # "1.00\n"
def test_a_sign_an_exponent_or_whitespace_is_refused(case: tuple[int, int]) -> None:
    places, amount = case
    text = format_amount(amount, places)
    for bad in _malformed(text):
        with pytest.raises(AmountError):
            parse_amount(bad, places)


@pytest.mark.parametrize("text", ["1\n", "1.00\n", "12.5\n", "7\r\n"])
def test_a_final_newline_is_refused_not_parsed(text: str) -> None:
    # Regression: the pattern was anchored with ``$``, which matches before a final newline, so "1\n" was 1.
    for places in DECIMALS:
        with pytest.raises(AmountError):
            parse_amount(text, places)


@given(decimals, st.text(max_size=30))
def test_any_text_is_an_amount_only_in_the_wire_form(places: int, text: str) -> None:
    try:
        parsed = parse_amount(text, places)
    except AmountError:
        return
    assert WIRE.fullmatch(text), repr(text)
    assert 0 < parsed <= maximum(places)
    assert parse_amount(format_amount(parsed, places), places) == parsed


@given(st.floats(allow_nan=True) | st.decimals(allow_nan=False), decimals)
def test_a_float_or_decimal_is_never_rendered_as_money(value: object, places: int) -> None:
    with pytest.raises(TypeError):
        format_amount(value, places)  # type: ignore[arg-type]
