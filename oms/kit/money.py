"""Decimal strings on the wire, integers of the smallest unit everywhere else. Never a float."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Matched whole (``fullmatch``): a ``$`` would also match before a final newline, and "1\n" is not an amount.
_DECIMAL = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?")


# The largest amount OMS accepts anywhere (a request, the CLI, the configuration, a deposit seen on chain):
# one billion of the asset, in major units. Far above any real single payment, and far below what storage
# holds: with six decimals it is 10^15 units, 1/9223 of a BIGINT (docs/decisions.md, "Amount limits").
MAX_MAJOR_AMOUNT = 10**9
# The most any ledger account may hold either way (the chain and fee system accounts go negative), in
# smallest units of any currency: 10^17, above the whole supply of USDC (about 6 * 10^16 units), so real
# money never reaches it. A leg is at most one such bound, so ``balance + leg`` is at most 2 * 10^17 and
# can never overflow a BIGINT; and 92 accounts at the bound still sum below 2^63. The database checks it
# too (oms/migrations/versions/0007_amount_limits.py), so no balance ever overflows or becomes a float.
LEDGER_LIMIT = 10**17
BIGINT_MAX = 2**63 - 1


# One major unit in smallest units, by decimals: ``10**decimals``, computed once. Typed here once: to a type
# checker ``int ** int`` is ``Any`` (a negative exponent gives a float); and a lookup is cheaper than the power.
_UNITS: tuple[int, ...] = tuple(int(10**decimals) for decimals in range(40))


def unit(decimals: int) -> int:
    """One major unit in smallest units, ``10**decimals`` (``decimals`` from 0 to 39)."""
    return _UNITS[decimals]


@dataclass(frozen=True, slots=True)
class Asset:
    code: str
    decimals: int

    @property
    def max_amount(self) -> int:
        """The largest amount of this asset OMS accepts, in smallest units."""
        return MAX_MAJOR_AMOUNT * _UNITS[self.decimals]


ASSETS: dict[str, Asset] = {
    "usdc": Asset("usdc", 6),
    "usdt": Asset("usdt", 6),
    "usd": Asset("usd", 2),
}


class AmountError(ValueError):
    """The text is not a valid amount of the asset; ``code`` is the API's error code for it."""

    def __init__(self, message: str, code: str = "invalid_amount") -> None:
        super().__init__(message)
        self.code = code


def parse_amount(text: str, decimals: int, *, allow_zero: bool = False) -> int:
    """Parse a plain decimal string (no sign, no exponent) into minor units; refuse extra precision and
    anything above the maximum amount (``MAX_MAJOR_AMOUNT``)."""
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text):
        raise AmountError('must be a decimal string such as "12.50" (no sign, no exponent)')
    whole, _, fraction = text.partition(".")
    # Compared as text first, so a string of any length is refused without becoming a huge integer.
    if len(whole) > len(str(MAX_MAJOR_AMOUNT)) or (int(whole), fraction.strip("0") != "") > (MAX_MAJOR_AMOUNT, False):
        raise too_large(decimals)
    if len(fraction) > decimals:
        raise AmountError(f"has more than {decimals} decimal places")
    minor = int(whole) * _UNITS[decimals] + int(fraction.ljust(decimals, "0") or "0")
    if minor == 0 and not allow_zero:
        raise AmountError("must be greater than zero")
    return minor


def too_large(decimals: int) -> AmountError:
    limit = format_amount(MAX_MAJOR_AMOUNT * _UNITS[decimals], decimals)
    return AmountError(f"is above the maximum amount of {limit}", code="amount_too_large")


def check_max(minor: int, decimals: int) -> None:
    """Refuse an amount computed from accepted ones (a gross with its fees) that exceeds the maximum."""
    if minor > MAX_MAJOR_AMOUNT * _UNITS[decimals]:
        raise too_large(decimals)


def format_amount(minor: int, decimals: int) -> str:
    """Minor units to a decimal string with at least two places (``"0.00"``, ``"12.50"``, ``"1.234567"``)."""
    if not isinstance(minor, int):  # a float here is corrupt money: fail loudly rather than render it
        raise TypeError(f"an amount must be an integer of smallest units, not {type(minor).__name__}")
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), _UNITS[decimals])
    digits = str(fraction).rjust(decimals, "0").rstrip("0") if decimals else ""
    digits = digits.ljust(min(2, decimals), "0")
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def divide_half_even(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half to even, exactly (integers; ``denominator`` > 0)."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2):
        quotient += 1
    return quotient
