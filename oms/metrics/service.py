"""What a scrape asks the database and the chains, as metric families: queue depths and oldest ages, the
webhook delivery lag, sends awaiting confirmations, and how far the deposit scanner trails each chain's head.

Asked once per scrape by the process answering it (the database and the chains are shared, so one answer is
every process's), each source within ``timeout``: a source that fails or is too slow is reported down
(``oms_scrape_source_up``) and the rest still answer; an outage never makes /metrics fail.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TypeVar

from prometheus_client.core import GaugeMetricFamily, Metric

from oms.chain.registry import Chains
from oms.db import Database
from oms.kit.time import Clock
from oms.metrics import repository
from oms.metrics.repository import Queue

log = logging.getLogger("oms.metrics")
T = TypeVar("T")


class Scrape:
    def __init__(self, *, db: Database, chains: Chains, clock: Clock, timeout: float) -> None:
        self._db = db
        self._chains = chains
        self._clock = clock
        self._timeout = timeout

    async def families(self) -> list[Metric]:
        up = GaugeMetricFamily("oms_scrape_source_up", "Whether a scrape's source answered in time", labels=["source"])
        found: list[Metric] = [up]
        queues = await self._within("database", up, self._queues)
        cursors: dict[tuple[str, str], int] = {}
        if queues is not None:
            found += self._queue_families(queues[0])
            cursors = queues[1]
        lag = GaugeMetricFamily(
            "oms_chain_head_lag_blocks",
            "Blocks between a chain's head and the last block the deposit scanner read",
            labels=["chain", "asset"],
        )
        for adapter in self._chains.all():
            head = await self._within(f"chain:{adapter.chain}", up, adapter.head)
            if head is None:
                continue
            for asset in sorted(adapter.assets):
                scanned = cursors.get((adapter.chain, asset))
                if scanned is not None:
                    lag.add_metric([adapter.chain, asset], max(0, head - scanned))
        found.append(lag)
        return found

    async def _queues(self) -> tuple[list[Queue], dict[tuple[str, str], int]]:
        async with self._db.session_scope(write=False) as session:
            return await repository.queues(session), await repository.scanned_to(session)

    async def _within(self, source: str, up: GaugeMetricFamily, ask: Callable[[], Awaitable[T]]) -> T | None:
        try:
            async with asyncio.timeout(self._timeout):
                answer = await ask()
        except Exception as error:  # reported as down; the rest of the scrape goes on
            log.warning("metrics source unavailable", extra={"source": source, "error": type(error).__name__})
            up.add_metric([source], 0)
            return None
        up.add_metric([source], 1)
        return answer

    def _queue_families(self, queues: Sequence[Queue]) -> list[Metric]:
        now = self._clock.now()
        depth = GaugeMetricFamily(
            "oms_queue_depth", "Work waiting in each queue, by queue and status", labels=["queue", "status"]
        )
        age = GaugeMetricFamily(
            "oms_queue_oldest_age_seconds", "Age of the oldest item waiting in each queue", labels=["queue", "status"]
        )
        awaiting = GaugeMetricFamily("oms_sends_awaiting_confirmations", "On-chain sends broadcast and not yet final")
        lag = GaugeMetricFamily(
            "oms_webhook_delivery_lag_seconds", "Age of the oldest webhook delivery not delivered yet (0: none)"
        )
        awaiting.add_metric([], sum(queue.depth for queue in queues if queue.status == "broadcast"))
        lag.add_metric([], 0.0)
        for queue in queues:
            depth.add_metric([queue.name, queue.status], queue.depth)
            seconds = _age(now, queue.oldest)
            age.add_metric([queue.name, queue.status], seconds)
            if queue.name == "webhook_deliveries":
                lag.samples.clear()
                lag.add_metric([], seconds)
        return [depth, age, awaiting, lag]


def _age(now: datetime, oldest: datetime | None) -> float:
    return 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
