"""Fiat fees and the dollar-to-stablecoin conversion, in integers of the smallest unit (never floats)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from oms.errors import InvalidRequest
from oms.kit.money import ASSETS, AmountError, format_amount, parse_amount, unit
from oms.quote.pricing import FeeSchedule
from oms.quote.schemas import Fees, Rates

USD_DECIMALS = ASSETS["usd"].decimals


@dataclass(frozen=True, slots=True)
class FiatFees(FeeSchedule):
    """A fee of ``rate`` * gross (rounded half-even to the cent) plus ``fixed`` cents: the quote's fee
    arithmetic, with the snapshot a cash-in keeps (the cash-in renders the ``omsFeeSchedule`` it shows)."""

    @classmethod
    def of(cls, rate: Decimal, fixed_major: Decimal) -> FiatFees:
        """From the configuration's major units: a fixed fee more precise than a cent is refused (it was
        truncated: 0.505 USD charged 0.50), as is one above the maximum amount."""
        try:
            fixed = parse_amount(format(Decimal(fixed_major).normalize(), "f"), USD_DECIMALS, allow_zero=True)
        except AmountError as exc:
            raise ValueError(f"a fixed fee of {fixed_major} USD {exc}") from exc
        return cls(Decimal(rate), fixed)

    @classmethod
    def from_snapshot(cls, snapshot: dict[str, Any]) -> FiatFees:
        return cls(Decimal(snapshot["rate"]), int(snapshot["fixed"]))

    def snapshot(self) -> dict[str, Any]:
        return {"rate": str(self.rate), "fixed": self.fixed}


def to_token(cents: int, asset: str) -> int:
    """Cents to the stablecoin's smallest unit at the exchange rate (exact: 1 cent = 10⁴ units of USDC)."""
    return cents * unit(ASSETS[asset].decimals - USD_DECIMALS)


def parse(text: str, asset: str, *, param: str) -> int:
    """An amount given on the wire, in ``asset``'s smallest unit (a 400 naming ``param`` if it is not one)."""
    try:
        return parse_amount(text, ASSETS[asset].decimals)
    except AmountError as exc:
        raise InvalidRequest(exc.code, f"{param} {exc}.", param=param) from exc


def usd(cents: int) -> str:
    return format_amount(cents, USD_DECIMALS)


def token_amount(minor: int, asset: str) -> str:
    return format_amount(minor, ASSETS[asset].decimals)


def fees_deducted(fee: int, decimals: int) -> Fees:
    zero = format_amount(0, decimals)
    return {"total": format_amount(fee, decimals), "developer": zero, "oms": format_amount(fee, decimals), "gas": zero}


def effective_rate(net: Decimal, gross: Decimal) -> str:
    """What one unit of the source buys after fees, in units of the destination (``"0.98"``)."""
    if not gross:
        return "0.0"
    return decimal_text((net / gross).quantize(Decimal("0.000001"), ROUND_HALF_EVEN))


def rates(net_cents: int, gross_cents: int, asset: str) -> Rates:
    """Stablecoins are delivered one to one against the dollar."""
    return {
        "exchangeRate": "1.0",
        "effectiveRate": effective_rate(Decimal(net_cents), Decimal(gross_cents)),
        "pair": f"usd/{asset}",
    }


def decimal_text(value: Decimal) -> str:
    """A rate on the wire: plain notation, at least one decimal (``"0.015"``, ``"1.0"``)."""
    text = format(value.normalize(), "f")
    return text if "." in text else f"{text}.0"
