"""A policy version's rules: as written on the wire (decimal strings, addresses as given) and as stored and
evaluated (integers of the smallest unit, addresses lower-cased). Every supported asset has the same decimals
(``kit.money.ASSETS``), so one amount reads the same whichever asset a transfer moves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from eth_utils import is_address, to_checksum_address

from oms.errors import InvalidRequest
from oms.kit.money import ASSETS, AmountError, format_amount, parse_amount
from oms.policy import schemas

DECIMALS = ASSETS["usdc"].decimals
WINDOWS = {"day": timedelta(days=1), "week": timedelta(days=7)}
_ADJECTIVE = {"day": "daily", "week": "weekly"}


@dataclass(frozen=True, slots=True)
class Limit:
    per: str  # wallet | customer
    window: str  # day | week
    max_count: int | None
    max_amount: int | None

    @property
    def span(self) -> timedelta:
        return WINDOWS[self.window]

    def code(self, metric: str) -> str:
        """The refusal's code: ``policy_daily_amount_per_wallet``, ``policy_weekly_count_per_customer`` …"""
        return f"policy_{_ADJECTIVE[self.window]}_{metric}_per_{self.per}"


@dataclass(frozen=True, slots=True)
class Rules:
    max_amount: int | None
    limits: tuple[Limit, ...]
    allow: frozenset[str]
    deny: frozenset[str]
    deny_by_default: bool
    cooling_seconds: int | None
    cooling_max_amount: int | None

    @property
    def counts(self) -> bool:
        """Whether evaluating needs what the customer sent before (and so a lock at execution)."""
        return bool(self.limits) or self.cooling_seconds is not None


def _amount(text: str | None, param: str) -> int | None:
    if text is None:
        return None
    try:
        return parse_amount(text, DECIMALS, allow_zero=True)
    except AmountError as exc:
        raise InvalidRequest(exc.code, f"{param} {exc}.", param=param) from exc


def _addresses(values: list[str], param: str) -> list[str]:
    found: list[str] = []
    for index, value in enumerate(values):
        if not is_address(value) or (value != value.lower() and value != to_checksum_address(value)):
            raise InvalidRequest(
                "invalid_address", "Not a valid EVM address (mixed case must be EIP-55).", param=f"{param}.{index}"
            )
        found.append(value.lower())
    return sorted(set(found))


def stored(rules: schemas.Rules) -> dict[str, Any]:
    """The wire's rules as a version stores them; raises the request's error for a bad amount or address."""
    limits = []
    for index, limit in enumerate(rules.limits):
        if limit.maxCount is None and limit.maxAmount is None:
            raise InvalidRequest(
                "invalid_limit", "A limit needs maxCount, maxAmount or both.", param=f"rules.limits.{index}"
            )
        limits.append(
            {
                "per": limit.per,
                "window": limit.window,
                "maxCount": limit.maxCount,
                "maxAmount": _amount(limit.maxAmount, f"rules.limits.{index}.maxAmount"),
            }
        )
    cooling = rules.coolingOff
    return {
        "maxAmountPerTransaction": _amount(rules.maxAmountPerTransaction, "rules.maxAmountPerTransaction"),
        "limits": limits,
        "allowList": _addresses(rules.allowList, "rules.allowList"),
        "denyList": _addresses(rules.denyList, "rules.denyList"),
        "denyByDefault": rules.denyByDefault,
        "coolingOff": None
        if cooling is None
        else {"seconds": cooling.seconds, "maxAmount": _amount(cooling.maxAmount, "rules.coolingOff.maxAmount")},
    }


def parsed(document: dict[str, Any]) -> Rules:
    """A stored version's rules, ready to evaluate."""
    cooling = document.get("coolingOff")
    return Rules(
        max_amount=document.get("maxAmountPerTransaction"),
        limits=tuple(
            Limit(each["per"], each["window"], each.get("maxCount"), each.get("maxAmount"))
            for each in document.get("limits", [])
        ),
        allow=frozenset(document.get("allowList", [])),
        deny=frozenset(document.get("denyList", [])),
        deny_by_default=bool(document.get("denyByDefault")),
        cooling_seconds=cooling["seconds"] if cooling else None,
        cooling_max_amount=cooling["maxAmount"] if cooling else None,
    )


def _text(minor: int | None) -> str | None:
    return None if minor is None else format_amount(minor, DECIMALS)


def rendered(document: dict[str, Any]) -> schemas.RulesOut:
    """A stored version's rules as the API shows them (amounts as decimal strings, addresses EIP-55)."""
    cooling = document.get("coolingOff")
    return {
        "maxAmountPerTransaction": _text(document.get("maxAmountPerTransaction")),
        "limits": [
            {
                "per": each["per"],
                "window": each["window"],
                "maxCount": each.get("maxCount"),
                "maxAmount": _text(each.get("maxAmount")),
            }
            for each in document.get("limits", [])
        ],
        "allowList": [to_checksum_address(address) for address in document.get("allowList", [])],
        "denyList": [to_checksum_address(address) for address in document.get("denyList", [])],
        "denyByDefault": bool(document.get("denyByDefault")),
        "coolingOff": None
        if not cooling
        else {"seconds": cooling["seconds"], "maxAmount": format_amount(cooling["maxAmount"], DECIMALS)},
    }
