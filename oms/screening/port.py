"""The screening port: which of some addresses on a chain a sanctions list names.

The built-in list (``oms.screening.service.BuiltInList``, the OFAC SDN list imported by ``oms screening import``)
is the default adapter. A commercial provider (a screening API) is another adapter of this protocol, chosen by the
composition root; it gets the caller's database session too, so the built-in list can read inside the money
path's own transaction, and may ignore it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class Hit:
    """A listed address. Compliance-only: never in a tenant's answer, event or log line."""

    address: str
    source: str  # the list: "OFAC SDN list (SDN_ADVANCED.XML)", or a provider's name
    published_on: date | None  # the list's publication date, when the source has one
    currency: str  # the list's tag for it: ETH, USDC, ...
    entry_ref: str  # the listed party's reference in the source

    def describe(self) -> str:
        published = f" published {self.published_on.isoformat()}" if self.published_on else ""
        return f"{self.address} is on the {self.source}{published} ({self.currency}, entry {self.entry_ref})"


class Screener(Protocol):
    async def screen(self, session: AsyncSession, chain: str, addresses: Collection[str]) -> list[Hit]:
        """The hits among ``addresses`` on ``chain`` (at most one per address); empty when none is listed."""
        ...


class NoScreening:
    """Screening switched off (``OMS_SCREENING=off``): nothing is ever a hit."""

    async def screen(self, session: AsyncSession, chain: str, addresses: Collection[str]) -> list[Hit]:
        return []
