"""Decimal strings on the wire, integers of the smallest unit everywhere else. Never a float."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

_DECIMAL = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]+)?$")


@dataclass(frozen=True, slots=True)
class Asset:
    code: str
    decimals: int


ASSETS: dict[str, Asset] = {
    "usdc": Asset("usdc", 6),
    "usdt": Asset("usdt", 6),
    "usd": Asset("usd", 2),
}


class AmountError(ValueError):
    """The text is not a valid amount of the asset."""


def parse_amount(text: str, decimals: int, *, allow_zero: bool = False) -> int:
    """Parse a plain decimal string (no sign, no exponent) into minor units; refuse extra precision."""
    if not isinstance(text, str) or not _DECIMAL.match(text):
        raise AmountError('must be a decimal string such as "12.50" (no sign, no exponent)')
    whole, _, fraction = text.partition(".")
    if len(fraction) > decimals:
        raise AmountError(f"has more than {decimals} decimal places")
    minor = int(whole) * 10**decimals + int(fraction.ljust(decimals, "0") or "0")
    if minor == 0 and not allow_zero:
        raise AmountError("must be greater than zero")
    return minor


def format_amount(minor: int, decimals: int) -> str:
    """Minor units to a decimal string with at least two places (``"0.00"``, ``"12.50"``, ``"1.234567"``)."""
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**decimals)
    digits = str(fraction).rjust(decimals, "0").rstrip("0") if decimals else ""
    digits = digits.ljust(min(2, decimals), "0")
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def round_half_even(value: Decimal) -> int:
    """Round an exact decimal quantity of minor units to an integer, half to even."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
