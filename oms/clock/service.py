"""The tenant's clock: the time every tenant-facing rule reads (quote locks, cash-in codes, limit windows).

In live mode it is the server's clock. In sandbox a tenant may move its own clock forward
(``POST /sandbox/clock/advance``) to see a quote lapse or a deposit code expire without waiting; the offset
is kept in the database, so every process (API and workers) agrees on it. Time never goes backwards.
The server's own ``Clock`` stays the time of system work: chain sends, ledger entries, event timestamps.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from oms.clock import repository
from oms.config import Mode
from oms.errors import NotFound
from oms.kit.time import Clock, truncate

# One advance may move the clock at most this far (a year), so a typo cannot throw a tenant into 3026.
MAX_ADVANCE = timedelta(days=366)


class TenantClock:
    def __init__(self, clock: Clock, *, mode: Mode) -> None:
        self._clock = clock
        self._adjustable = mode is Mode.sandbox

    @property
    def system(self) -> Clock:
        return self._clock

    async def offset(self, session: AsyncSession, tenant_id: str) -> timedelta:
        if not self._adjustable:
            return timedelta()
        return timedelta(milliseconds=await repository.offset_ms(session, tenant_id))

    async def now(self, session: AsyncSession, tenant_id: str) -> datetime:
        """The tenant's current time."""
        return truncate(self._clock.now() + await self.offset(session, tenant_id))

    def now_at(self, offset_ms: int | None) -> datetime:
        """The tenant's current time, given its stored offset (None: never moved)."""
        offset = timedelta(milliseconds=offset_ms or 0) if self._adjustable else timedelta()
        return truncate(self._clock.now() + offset)

    async def offsets(self, session: AsyncSession) -> dict[str, timedelta]:
        """Tenants whose clock runs ahead of the server's (jobs evaluate their deadlines per tenant)."""
        if not self._adjustable:
            return {}
        return {tenant: timedelta(milliseconds=ms) for tenant, ms in (await repository.offsets_ms(session)).items()}

    async def advance(self, session: AsyncSession, tenant_id: str, by: timedelta) -> timedelta:
        """Move the tenant's clock forward by ``by``; returns the new offset."""
        if not self._adjustable:  # the sandbox router is not mounted in live mode; this is a second lock
            raise NotFound("unrecognized_request_url", "Unrecognized request URL.")
        milliseconds = int(by / timedelta(milliseconds=1))
        total = await repository.add_ms(session, tenant_id, milliseconds, self._clock.now())
        return timedelta(milliseconds=total)
