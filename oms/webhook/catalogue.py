"""The event catalogue and subscription patterns: exact names, trailing ``.*`` families, ``[]`` = all.

A subscription may name only events this server can emit (a typo must never silently match nothing);
a family must be the prefix of at least one of them. Delivery itself matches any type, so an event
type added later reaches ``[]`` and family subscribers without a change here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from oms.event.compliance import COMPLIANCE_EVENT_TYPES, is_compliance_only

TRANSACTION_TYPES = ("fiatToCrypto", "cryptoToFiat", "cryptoToCrypto")
TRANSACTION_STATUSES = ("processing", "completed", "failed")

EVENT_TYPES: tuple[str, ...] = (
    *(f"transaction.{kind}.{status}" for kind in TRANSACTION_TYPES for status in TRANSACTION_STATUSES),
    "transaction.cryptoToFiat.cashPickupReady",
    "cashIn.processing",
    "cashIn.completed",
    "cashIn.failed",
    "cashIn.expired",
    "customer.endorsement.granted",
    "customer.endorsement.rejected",
    "wallet.depositDetected",
    "wallet.depositFlagged",
    "depositAddress.transferHeld",
    # Delivered only to complianceOnly endpoints (oms.event.compliance).
    *COMPLIANCE_EVENT_TYPES,
)
# Sent by ``POST /webhooks/{id}/test`` to that one endpoint only; never matched by a subscription.
TEST_EVENT = "webhook.test"
MAX_PATTERNS = 100


def _families(types: Iterable[str]) -> frozenset[str]:
    """Every proper dotted prefix of every type: ``transaction``, ``transaction.cryptoToCrypto``, …"""
    found: set[str] = set()
    for name in types:
        parts = name.split(".")
        found.update(".".join(parts[:n]) for n in range(1, len(parts)))
    return frozenset(found)


FAMILIES = _families(EVENT_TYPES)
_KNOWN = frozenset(EVENT_TYPES)
__all__ = ["EVENT_TYPES", "FAMILIES", "is_compliance_only", "matches", "pattern_error", "validate_patterns"]


def pattern_error(pattern: str) -> str | None:
    """Why ``pattern`` is not a valid subscription entry, or None."""
    if pattern.endswith(".*"):
        if pattern[:-2] not in FAMILIES:
            return f"'{pattern}' is not a family of events (known families: {', '.join(sorted(FAMILIES))})"
        return None
    if "*" in pattern:
        return f"'{pattern}': a wildcard is only allowed as a trailing '.*' (use [] for every event)"
    if pattern not in _KNOWN:
        return f"unknown event type '{pattern}'"
    return None


def validate_patterns(patterns: Sequence[str]) -> list[str]:
    if len(patterns) > MAX_PATTERNS:
        raise ValueError(f"at most {MAX_PATTERNS} entries")
    if len(set(patterns)) != len(patterns):
        raise ValueError("must not repeat an event type")
    for pattern in patterns:
        problem = pattern_error(pattern)
        if problem:
            raise ValueError(problem)
    return list(patterns)


def matches(patterns: Sequence[str], event_type: str, *, compliance_only: bool = False) -> bool:
    """Compliance events (AML no tipping off) go only to ``complianceOnly`` endpoints."""
    if is_compliance_only(event_type) and not compliance_only:
        return False
    if not patterns:
        return True
    for pattern in patterns:
        if pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False
