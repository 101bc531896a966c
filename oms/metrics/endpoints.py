"""``GET /metrics``: the Prometheus text exposition of every API process's counts and of a scrape of the
database and chains, outside both APIs (like the probes) and only for those ``MetricsAccess`` lets in."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import Metric
from starlette.responses import Response

from oms.metrics.access import MetricsAccess
from oms.metrics.directory import MULTIPROCESS_ENV
from oms.metrics.service import Scrape
from oms.routing import provided_by

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    provided = provided_by(request)
    provided.get(MetricsAccess).check(request.scope)
    body = _processes() + _scraped(await provided.get(Scrape).families())
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _processes() -> bytes:
    """Every API process's counts: summed from their files when several serve (``oms serve``), else this
    process's own registry (with its process and runtime collectors)."""
    directory = os.environ.get(MULTIPROCESS_ENV)
    if not directory:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


class _Families:
    def __init__(self, families: Sequence[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


def _scraped(families: Sequence[Metric]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(families))
    return generate_latest(registry)
