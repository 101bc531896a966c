"""The fast lane's transport: one pure ASGI layer that answers, on PostgreSQL, the API's three most frequent
successes (a balance read, a new quote, an execution) without the framework's per-request machinery.

It decides nothing itself. Every rule is the services' (``QuoteService.new_quote``, ``TransactionService.
check_open`` and ``plan``, ``customer.service.refusal``), every statement is built from the domains' own rule
expressions (oms/fastlane/repository.py), every ledger leg passes ``ledger.service.entry_rows``, and the
schema refuses what it refuses on every path (docs/architecture.md, "Money rules"). It only ever answers the
success; anything else (no or a bad token, a revoked key, a body the schema refuses, a rule that refuses, an
Idempotency-Key already used, a database error, SQLite, even a bug here) passes, untouched, to the regular
endpoint, which gives the answer, errors included. The one exception is an outage (``oms.outage``: the database
unreachable or out of time), answered 503 here at once rather than waited for a second time in the endpoint.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from oms.errors import ServiceUnavailable
from oms.fastlane.asgi import Services, send_error, send_json
from oms.fastlane.reads import BALANCE_ROUTE, BalanceReads
from oms.fastlane.writes import MoneyWrites
from oms.metrics.middleware import ROUTE_KEY

__all__ = ["FastLane", "Services"]

Answer = Callable[[Scope], Awaitable[bytes | None]]


class FastLane:
    def __init__(self, app: ASGIApp, *, services: Services) -> None:
        self.app = app
        self._db = services.db
        reads, writes = BalanceReads(services), MoneyWrites(services)
        # each lane's answer, its status, and the route template it answers (named for the metrics)
        self._lanes: dict[str, tuple[Answer, int, Callable[[Scope], str]]] = {
            "GET": (reads.answer, 200, lambda _: BALANCE_ROUTE),
            "POST": (writes.answer, 201, lambda scope: str(scope["path"])),  # /quotes, /transactions
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = self._lanes.get(scope.get("method", "")) if scope["type"] == "http" else None
        # the hot pool is opened at start-up on PostgreSQL; None on SQLite or before start
        if lane is not None and self._db.hot_pool is not None:
            answer, status, route_of = lane
            try:
                body = await answer(scope)
            except ServiceUnavailable as outage:  # the endpoint would wait for the same database again
                scope[ROUTE_KEY] = route_of(scope)
                await send_error(send, outage)
                return
            if body is not None:
                scope[ROUTE_KEY] = route_of(scope)
                await send_json(send, status, body)
                return
        await self.app(scope, receive, send)
