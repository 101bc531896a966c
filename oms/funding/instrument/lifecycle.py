"""The lifecycle every funding instrument shares (its statuses: ``oms.models.InstrumentStatus``)::

    active ⇄ paused                 PATCH {status}; back to active asks the customer's endorsements again
    active | paused → deleted       DELETE; permanent, and the instrument stays readable

A deleted instrument is frozen: any PATCH is 409 ``<kind>_deleted``; a second DELETE answers it unchanged
(DELETE is idempotent). What a status means for what arrives is the instrument's: a paused virtual account
refuses deposits (its bank returns them), a paused deposit address holds them (a chain cannot refuse) and
forwards them when reactivated. No event is emitted for a transition: each is the integrator's own call,
answered with the resource; what arrives meanwhile has its own events (``depositAddress.transferHeld``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from oms.errors import Conflict, NotFound
from oms.models import FundingInstrument, InstrumentStatus

# What a PATCH may ask for; ``deleted`` is reached by DELETE only.
SettableStatus = Literal["active", "paused"]
# Which statuses each status may move to by PATCH (a status to itself is allowed: a PATCH is idempotent).
TRANSITIONS: dict[InstrumentStatus, frozenset[InstrumentStatus]] = {
    "active": frozenset({"active", "paused"}),
    "paused": frozenset({"active", "paused"}),
    "deleted": frozenset(),
}


@dataclass(frozen=True, slots=True)
class Kind:
    """How an instrument is named: ``code`` in error codes (``virtual_account_deleted``), ``noun`` in
    messages, ``prefix`` on its ids."""

    code: str
    noun: str
    prefix: str

    def missing(self, instrument_id: str) -> NotFound:
        return NotFound.resource(self.noun, instrument_id)

    def deleted(self, instrument: FundingInstrument) -> Conflict:
        return Conflict(f"{self.code}_deleted", f"{self.noun.capitalize()} '{instrument.id}' is deleted.")


def patch(kind: Kind, instrument: FundingInstrument, requested: SettableStatus | None) -> bool:
    """Check that ``instrument`` may be changed (to ``requested``, or only its other fields when None), and
    whether that reactivates it. The caller asks the endorsements before, and sets the status after."""
    allowed = TRANSITIONS[instrument.status]
    if not allowed or (requested is not None and requested not in allowed):
        raise kind.deleted(instrument)
    return requested == "active" and instrument.status != "active"


def delete(instrument: FundingInstrument, now: datetime) -> bool:
    """Delete ``instrument`` (whether it was not already)."""
    if instrument.status == "deleted":
        return False
    instrument.status, instrument.deleted_at, instrument.updated_at = "deleted", now, now
    return True
