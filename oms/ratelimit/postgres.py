"""A `limits` async storage on PostgreSQL itself (the UNLOGGED table ``rate_limit_counters``), for several API
processes without Redis.

Every hit is one atomic UPSERT: the row is created with its window, counted up while the window lasts, and
restarted by the first hit after it ends, on the database's clock (the same for every process). The hits of
concurrent requests join one statement (``oms.kit.batch``): a key hit several times in it is written once
with the sum, and each hit is handed its own count in order, exactly as if they had come one by one. Keys go
in sorted, so two processes' statements lock rows in the same order and never deadlock.

A process far from a limit does not write every hit: it leases a share of what is left in the window (a
64th of it, at most 1,024 hits, at least one) with one hit's statement, and serves the share from memory
until it is used or the window ends. The shared counter counts every lease in full, so the processes together
never admit more than the limit; a share a process leased and did not use is lost to the others until the
window ends (at most a 64th of what was left when it was leased). Near the limit the share is one hit: the
last hits of a window are counted one by one, exactly.

It runs on the fast lane's asyncpg pool (``Database.hot_pool``; statements prepared once per connection by the
driver), or on a small pool of its own when the fast lane is off, never through the ORM.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import cast

import asyncpg
from limits.aio.storage import Storage

from oms.config import Settings
from oms.db import Database, server_settings
from oms.kit.batch import Batcher
from oms.ratelimit.counters import Count, Hit

_NOW = "extract(epoch FROM now())"
_HIT = f"""
INSERT INTO rate_limit_counters AS c (key, count, expires_at)
SELECT h.key, h.amount, {_NOW} + h.seconds
FROM unnest($1::text[], $2::bigint[], $3::float8[]) AS h(key, amount, seconds)
ORDER BY h.key
ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN c.expires_at <= {_NOW} THEN excluded.count ELSE c.count + excluded.count END,
    expires_at = CASE WHEN c.expires_at <= {_NOW} THEN excluded.expires_at ELSE c.expires_at END
RETURNING c.key, c.count, c.expires_at
"""  # noqa: S608 (no input in the text)
_GET = f"SELECT count FROM rate_limit_counters WHERE key = $1 AND expires_at > {_NOW}"  # noqa: S608
_GET_EXPIRY = f"SELECT expires_at FROM rate_limit_counters WHERE key = $1 AND expires_at > {_NOW}"  # noqa: S608
# Expired rows are restarted by their next hit; those never hit again are removed now and then.
_PURGE = f"DELETE FROM rate_limit_counters WHERE expires_at < {_NOW} - 60"  # noqa: S608
_PURGE_EVERY_SECONDS = 60.0
_MAX_BATCH = 500
_MAX_COUNTERS = 100_000  # forgotten beyond this (a lease forgotten is a lease unused)
_LEASE_SHARE = 64  # a lease takes this fraction of what is left in the window
_MAX_LEASE = 1024


@dataclass(slots=True)
class _Lease:
    """Hits of one counter this process has counted in the shared store and not served yet."""

    left: int
    count: int  # the shared count the next hit served from this lease stands for
    expires_at: float  # the window's end (epoch seconds)


class PostgresStorage(Storage):
    STORAGE_SCHEME = None  # built by the composition root, not from a URI

    def __init__(self, db: Database, settings: Settings) -> None:
        super().__init__()
        self._db = db
        self._settings = settings
        self._own_pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self.batches: Batcher[Sequence[tuple[str, int, int]], list[Count]] = Batcher(self._run, max_size=_MAX_BATCH)
        self._next_purge = time.monotonic() + _PURGE_EVERY_SECONDS
        self._leases: dict[str, _Lease] = {}
        self.statements = 0  # hit statements run (what leasing saves)
        self._last_count: dict[str, int] = {}  # each counter's shared count when this process last wrote it

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return (asyncpg.PostgresError, OSError)

    # --- what the middleware calls: a request's hits, in one shared statement -----------------------------

    def hit_at_hand(self, hits: Sequence[Hit]) -> list[Count] | None:
        """Every hit from this process's leases, if each has one left (most requests, far from the limits)."""
        now = time.time()
        leases = self._leases
        for key, _, _ in hits:
            lease = leases.get(key)
            if lease is None or lease.left <= 0 or now >= lease.expires_at:
                return None
        counted: list[Count] = []
        for key, _, _ in hits:
            lease = leases[key]
            lease.left -= 1
            lease.count += 1
            counted.append((lease.count, lease.expires_at))
        return counted

    async def hit(self, hits: Sequence[Hit]) -> list[Count]:
        """Each hit served from this process's lease on its counter if one is left, else counted in the store
        with a new lease (one statement shared by concurrent requests)."""
        now = time.time()
        counted: list[Count | None] = [self._from_lease(key, now) for key, _, _ in hits]
        missing = [index for index, count in enumerate(counted) if count is None]
        if missing:
            wanted = [(hits[i][0], hits[i][1], self._lease_size(hits[i][0], hits[i][2])) for i in missing]
            for index, (key, _, size), (count, expires_at) in zip(
                missing, wanted, await self.batches.submit(wanted), strict=True
            ):
                counted[index] = self._take_lease(key, size, count, expires_at, limit=hits[index][2])
        return [count for count in counted if count is not None]

    def _from_lease(self, key: str, now: float) -> Count | None:
        lease = self._leases.get(key)
        if lease is None or lease.left <= 0 or now >= lease.expires_at:
            return None
        lease.left -= 1
        lease.count += 1
        return lease.count, lease.expires_at

    def _lease_size(self, key: str, limit: int) -> int:
        """A share of what was left at this process's last write (one hit for a counter it has not seen)."""
        last = self._last_count.get(key)
        if last is None:
            if len(self._last_count) >= _MAX_COUNTERS:
                self._last_count.clear()
            return 1
        return max(1, min((limit - last) // _LEASE_SHARE, _MAX_LEASE))

    def _take_lease(self, key: str, size: int, count: int, expires_at: float, *, limit: int) -> Count:
        """The first hit of a lease of ``size`` whose last hit took the shared count to ``count``; the rest,
        as far as the limit allows, are kept for the next hits."""
        self._last_count[key] = count
        first = count - size + 1
        usable = min(size, limit - first + 1)  # hits of the lease still within the limit (a race may cut it)
        if usable > 1:
            lease = self._leases.get(key)
            if lease is not None and lease.left > 0 and lease.expires_at == expires_at:
                lease.left += usable - 1  # concurrent requests leased at once (their counts now approximate)
            else:
                if lease is None and len(self._leases) >= _MAX_COUNTERS:
                    self._leases.clear()
                self._leases[key] = _Lease(left=usable - 1, count=first, expires_at=expires_at)
        return first, expires_at

    async def _run(self, batch: Sequence[Sequence[tuple[str, int, int]]]) -> list[list[Count]]:
        """Each hit is (key, window, amount); its count is the shared count after its last unit."""
        totals: dict[str, list[int]] = {}  # key: [amount, window]
        for hits in batch:
            for key, window, amount in hits:
                totals.setdefault(key, [0, window])[0] += amount
        keys = sorted(totals)
        self.statements += 1
        async with self._connection() as connection:
            rows = await connection.fetch(
                _HIT, keys, [totals[key][0] for key in keys], [float(totals[key][1]) for key in keys]
            )
            if time.monotonic() >= self._next_purge:
                self._next_purge = time.monotonic() + _PURGE_EVERY_SECONDS
                await connection.execute(_PURGE)
        final = {row["key"]: (int(row["count"]), float(row["expires_at"])) for row in rows}
        # Each key's hits in this statement took the counts just below its final value, in submission order.
        running = {key: final[key][0] - totals[key][0] for key in keys}
        results: list[list[Count]] = []
        for hits in batch:
            counted: list[Count] = []
            for key, _, amount in hits:
                running[key] += amount
                counted.append((running[key], final[key][1]))
            results.append(counted)
        return results

    async def _pool(self) -> asyncpg.Pool:
        """The fast lane's pool; without it (OMS_HOT_READS=false), a small one of its own, opened on first use
        (so a process that serves nothing, a worker or a CLI command, opens none)."""
        if self._db.hot_pool is not None:
            return self._db.hot_pool
        async with self._opening:
            if self._own_pool is None:
                self._own_pool = await asyncpg.create_pool(
                    self._db.url.set(drivername="postgresql").render_as_string(hide_password=False),
                    min_size=1,
                    max_size=self._settings.rate_limit_pool_size,
                    max_inactive_connection_lifetime=self._settings.db_idle_seconds,
                    timeout=self._settings.db_connect_timeout_seconds,
                    command_timeout=self._settings.db_client_timeout_seconds,
                    server_settings=server_settings(self._settings),
                )
            return self._own_pool

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        pool = await self._pool()
        async with pool.acquire(timeout=self._settings.db_pool_timeout_seconds) as connection:
            yield cast("asyncpg.Connection", connection)

    async def close(self) -> None:
        if self._own_pool is not None:
            await self._own_pool.close()
            self._own_pool = None

    # --- the `limits` storage interface ---------------------------------------------------------------------

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        [(count, _)] = await self.batches.submit([(key, expiry, amount)])
        return count

    async def get(self, key: str) -> int:
        async with self._connection() as connection:
            return int(await connection.fetchval(_GET, key) or 0)

    async def get_expiry(self, key: str) -> float:
        async with self._connection() as connection:
            expiry = await connection.fetchval(_GET_EXPIRY, key)
        return float(expiry) if expiry is not None else time.time()

    async def check(self) -> bool:
        try:
            async with self._connection() as connection:
                return bool(await connection.fetchval("SELECT true"))
        except Exception:
            return False

    async def reset(self) -> int | None:
        async with self._connection() as connection:
            status = await connection.execute("DELETE FROM rate_limit_counters")
        return int(status.rsplit(" ", 1)[-1])

    async def clear(self, key: str) -> None:
        async with self._connection() as connection:
            await connection.execute("DELETE FROM rate_limit_counters WHERE key = $1", key)
