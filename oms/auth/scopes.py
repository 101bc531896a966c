"""What an API key may do: its scopes, the presets, and the one rule both request paths call (``covers``).

A key holds an explicit set of scopes, stored expanded (``api_keys.scopes``, space-separated like OAuth's
``scope``): ``full`` is written out as the scopes that exist when the key is made, so a scope added later is
not silently granted to old keys (docs/decisions.md, "Scoped API keys"). Every ``/v0.9`` route declares the one
scope it needs (``oms.auth.dependencies.needs``); the fast lane checks the same scope with the same rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from functools import lru_cache

from oms.errors import InsufficientScope


class Scope(StrEnum):
    READ = "read"
    CUSTOMERS_WRITE = "customers:write"
    WALLETS_WRITE = "wallets:write"
    # quotes, transactions, cash-ins, virtual accounts, deposit addresses (and their sandbox simulations)
    MONEY_WRITE = "money:write"
    WEBHOOKS_WRITE = "webhooks:write"


FULL: frozenset[str] = frozenset(Scope)
READ_ONLY: frozenset[str] = frozenset({Scope.READ})
PRESETS: dict[str, frozenset[str]] = {"full": FULL, "read_only": READ_ONLY}


def covers(granted: frozenset[str], needed: str) -> bool:
    """Whether a key holding ``granted`` may do what needs ``needed``: the one rule, for the endpoints
    (``needs``) and the fast lane alike. Scopes are independent: a write scope does not imply ``read``."""
    return needed in granted


def require(granted: frozenset[str], needed: str) -> None:
    if not covers(granted, needed):
        raise InsufficientScope(needed)


def parse(text: str) -> frozenset[str]:
    """Scopes as an operator writes them: a preset (``full``, ``read_only``) or scope names, comma- or
    space-separated. Raises ``ValueError`` naming the first unknown one."""
    names = [name for name in text.replace(",", " ").split() if name]
    if not names:
        raise ValueError("no scopes given")
    granted: set[str] = set()
    for name in names:
        if name in PRESETS:
            granted |= PRESETS[name]
        elif name in FULL:
            granted.add(name)
        else:
            raise ValueError(f"unknown scope {name!r} (scopes: {', '.join(Scope)}; presets: {', '.join(PRESETS)})")
    return frozenset(granted)


def stored(scopes: Iterable[str]) -> str:
    """The column's text for ``scopes``: sorted, space-separated, each a known scope."""
    names = sorted(set(scopes))
    unknown = [name for name in names if name not in FULL]
    if unknown:
        raise ValueError(f"unknown scope {unknown[0]!r}")
    return " ".join(names)


@lru_cache(maxsize=256)
def granted_by(column: str) -> frozenset[str]:
    """The scopes a stored ``api_keys.scopes`` holds. Cached: every request reads it, and keys share a handful
    of distinct values."""
    return frozenset(column.split())


def described(scopes: frozenset[str]) -> str:
    """Scopes for people (``oms keys list``): comma-separated in the order of ``Scope``."""
    known = [scope.value for scope in Scope if scope in scopes]
    return ",".join(known + sorted(scopes - FULL)) or "(none)"
