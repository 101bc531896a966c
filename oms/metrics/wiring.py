"""Builds the metrics' parts for the composition root (oms/context.py)."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

from oms.chain.registry import Chains
from oms.config import Settings
from oms.db import Database
from oms.kit.address import ClientAddress
from oms.kit.time import Clock
from oms.metrics.access import MetricsAccess
from oms.metrics.directory import MULTIPROCESS_ENV
from oms.metrics.service import Scrape

POOL_EVERY_SECONDS = 5.0


@dataclass
class Metrics:
    enabled: bool
    access: MetricsAccess
    scrape: Scrape
    db: Database

    def count_pools(self) -> None:
        """This process's pools, as ``oms_db_pool_connections`` (summed over the live processes)."""
        from oms.metrics.registry import DB_POOL_CONNECTIONS

        for (pool, state), connections in self.db.pool_use().items():
            DB_POOL_CONNECTIONS.labels(pool, state).set(connections)

    async def count_pools_forever(self) -> None:
        while True:
            self.count_pools()
            await asyncio.sleep(POOL_EVERY_SECONDS)

    def process_ended(self) -> None:
        """This process's live gauges leave the sums (its counters stay: they are totals)."""
        if os.environ.get(MULTIPROCESS_ENV):
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def build_metrics(
    settings: Settings, *, db: Database, chains: Chains, clock: Clock, addresses: ClientAddress
) -> Metrics:
    return Metrics(
        enabled=settings.metrics,
        access=MetricsAccess(allowed=settings.metrics_allow, token=settings.metrics_token, addresses=addresses),
        scrape=Scrape(db=db, chains=chains, clock=clock, timeout=settings.metrics_scrape_timeout_seconds),
        db=db,
    )
