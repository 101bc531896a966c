"""Where the counts are kept: one call per request counts all its hits and says when each window ends.

``limits``' fixed window: a counter per key, created by its first hit with the window's length, counted up by
every hit until it expires. ``LimitsCounters`` drives any `limits` async storage this way (memory for one
process, Redis for several); ``postgres.PostgresStorage`` is one of those storages that also answers a
request's hits, with their windows' ends, in one statement shared by concurrent requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from limits.aio.storage import MemoryStorage, Storage

# (counter key, window seconds, the limit's amount): one hit of one limit
Hit = tuple[str, int, int]
# (the counter after this hit, when its window ends: epoch seconds)
Count = tuple[int, float]


class Counters(Protocol):
    def hit_at_hand(self, hits: Sequence[Hit]) -> list[Count] | None:
        """The counts of ``hits`` if this process can give them without waiting (then they are counted), else
        None (and nothing is counted): the request then waits for ``hit``."""
        ...

    async def hit(self, hits: Sequence[Hit]) -> list[Count]: ...

    async def close(self) -> None: ...


class LimitsCounters:
    """A `limits` async storage: ``incr`` (the fixed window's count), then ``get_expiry`` (its end)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        # In memory every call is immediate: tasks would cost more than they overlap.
        self._concurrent = not isinstance(storage, MemoryStorage)

    def hit_at_hand(self, hits: Sequence[Hit]) -> list[Count] | None:
        return None  # `limits`' storages are all async

    async def hit(self, hits: Sequence[Hit]) -> list[Count]:
        if self._concurrent and len(hits) > 1:
            return list(await asyncio.gather(*(self._one(key, window) for key, window, _ in hits)))
        return [await self._one(key, window) for key, window, _ in hits]

    async def _one(self, key: str, window: int) -> Count:
        count = await self.storage.incr(key, window)
        return count, await self.storage.get_expiry(key)

    async def close(self) -> None:
        return None
