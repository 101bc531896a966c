"""Every HTTP request timed and counted by method, route template and status, in one pure ASGI layer outside
all the others (so the fast lane's answers, rate-limit refusals and the request context's own errors count).

The route is the template the request matched (``/v0.9/wallets/{wallet_id}/balance``), never the path itself:
the label's values stay as few as the routes. The fast lane, which answers before any route is matched, names
its template in ``scope["oms.route"]``; a request that matched no route is ``other``.
"""

from __future__ import annotations

import time

from prometheus_client.metrics import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oms.metrics.registry import REQUEST_SECONDS

ROUTE_KEY = "oms.route"  # the scope's key for a template named by a layer that answers before routing
_OTHER = "other"
_MAX_SERIES = 5_000  # (method, route, status) children cached; beyond this they are looked up each time


class HttpMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._series: dict[tuple[str, str, int], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the server answers if the application raises before starting its answer
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        key = (scope["method"], route_of(scope), status)
        series = self._series.get(key)
        if series is None:
            series = REQUEST_SECONDS.labels(key[0], key[1], str(status))
            if len(self._series) < _MAX_SERIES:
                self._series[key] = series
        series.observe(seconds)


def route_of(scope: Scope) -> str:
    """The template of the route the request matched, with the prefix its router was mounted under."""
    named = scope.get(ROUTE_KEY)
    if named is not None:
        return str(named)
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if not isinstance(template, str):
        return _OTHER
    # FastAPI keeps a router's own paths on its routes: the prefix is what the path has before them.
    depth = template.count("/")
    segments = scope["path"].split("/")
    if len(segments) <= depth:
        return template
    return "/".join(segments[:-depth]) + template if depth else template
