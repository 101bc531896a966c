"""Compliance-only events (AML: no tipping off). They are written to the outbox like every event, but delivered
only to webhook endpoints with ``complianceOnly: true`` (``oms.webhook.catalogue.matches``) and never listed or
answered by the tenant's ``GET /events`` (``oms.event.repository``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_
from sqlalchemy.orm import InstrumentedAttribute

# A transaction held by a screening hit, and the outcomes of its review; a deposit (to a wallet or a deposit
# address) frozen by a hit, and its own.
COMPLIANCE_EVENT_TYPES: tuple[str, ...] = (
    "transaction.underReview",
    "transaction.reviewReleased",
    "transaction.reviewRejected",
    "wallet.depositFrozen",
    "wallet.depositReleased",
    "wallet.depositBlocked",
    "depositAddress.transferFrozen",
    "depositAddress.transferReleased",
    "depositAddress.transferBlocked",
)
_SUFFIX = ".underReview"  # every kind's review: transaction.cryptoToCrypto.underReview, ...
_TYPES = frozenset(COMPLIANCE_EVENT_TYPES)


def is_compliance_only(event_type: str) -> bool:
    return event_type in _TYPES or event_type == "underReview" or event_type.endswith(_SUFFIX)


def tenant_visible(column: InstrumentedAttribute[str] | ColumnElement[Any]) -> ColumnElement[bool]:
    """The SQL condition on an event's type: not compliance-only."""
    return and_(column.not_in(COMPLIANCE_EVENT_TYPES), column != "underReview", ~column.like("%" + _SUFFIX))
