"""Screening as one of the controls before money leaves (``oms.controls.decision.Check``): an external destination
on the sanctions list holds the transfer for review (``Hold("review")``: the transaction shows ``underReview``
to compliance surfaces only). Asked at quote time (a hit does not refuse the quote: that would tip off) and again
inside the execution's transaction, where the hold is decided."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from oms.controls.decision import Hold, Movement, Outcome
from oms.screening.port import Screener


class ScreeningCheck:
    def __init__(self, screener: Screener) -> None:
        self._screener = screener

    async def check(self, session: AsyncSession, movement: Movement) -> Sequence[Outcome]:
        if not movement.external:  # an OMS wallet's owner is a customer, screened by KYC
            return ()
        hits = await self._screener.screen(session, movement.chain, [movement.destination_address])
        return [Hold("review", hit.describe()) for hit in hits[:1]]
