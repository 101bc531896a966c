"""The rate limits of every request, in one pure ASGI layer (inside the request context, outside the fast lane
and the endpoints, so both are limited alike).

A request is counted against its family's limits (``policy``) for its API key, read from the bearer token by
``TokenSigner.key_id_of`` (verified tokens are cached: no database query), or, for ``POST /auth/token``, the
``apiKey`` of its body; and for its client address (``address``). A request without a valid key is counted
by its address only. All its hits are one call to the store (``counters``). Over any limit, the answer is
429 ``rate_limit_error`` ``rate_limited`` with ``Retry-After``; every answer of a limited route carries
``RateLimit-Policy`` and ``RateLimit`` (draft-ietf-httpapi-ratelimit-headers-11).

If the store fails or does not answer within ``store_timeout`` (Redis or the database unreachable or frozen),
requests pass uncounted, with a warning at most every 10 seconds: a limit protects the service, it is not a
reason to refuse all of it. After a failure the store is left alone for ``store_retry`` seconds (every request
passes uncounted meanwhile), so an outage adds its timeout to one request, not to each.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oms.errors import RateLimited
from oms.kit.address import ClientAddress
from oms.kit.logging import request_id_var
from oms.metrics.registry import RATE_LIMIT_REFUSALS
from oms.ratelimit.counters import Counters, Hit
from oms.ratelimit.policy import Family, Policy, family_of
from oms.responses import JSONResponse

log = logging.getLogger("oms.ratelimit")
_WARN_EVERY_SECONDS = 10.0
_MAX_KEY_LENGTH = 128  # an apiKey longer than any key id is counted by address only
_MAX_PLANS = 10_000


class RateLimits:
    def __init__(
        self,
        app: ASGIApp,
        *,
        families: Mapping[str, Family],
        counters: Counters,
        key_of_authorization: Callable[[str], str | None],
        addresses: ClientAddress,
        store_timeout: float,
        store_retry: float,
    ) -> None:
        self.app = app
        self._families = families
        self._counters = counters
        self._key_of_authorization = key_of_authorization
        self._addresses = addresses
        self._store_timeout = store_timeout
        self._store_retry = store_retry
        self._store_down_until = -math.inf
        self._warned_at = -math.inf
        self._plans: dict[tuple[str, str | None, str], tuple[tuple[Policy, ...], list[Hit]]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        family = None
        if scope["type"] == "http":
            family = self._families.get(family_of(scope["method"], scope["path"]) or "")
        if family is None:
            await self.app(scope, receive, send)
            return
        if time.monotonic() < self._store_down_until:
            await self.app(scope, receive, send)
            return
        key_id = self._key_of(scope, family.name)
        policies, hits = self._plan(family, key_id, self._addresses.of(scope))
        counts = self._counters.hit_at_hand(hits)
        if counts is None:
            try:
                async with asyncio.timeout(self._store_timeout):
                    counts = await self._counters.hit(hits)
            except Exception:  # the store is down or too slow: serve uncounted (see the module's docstring)
                self._store_unavailable()
                await self.app(scope, receive, send)
                return
        now = time.time()
        service: list[str] = []
        exceeded: tuple[int, Policy] | None = None
        for policy, (count, expires_at) in zip(policies, counts, strict=True):
            reset = max(0, math.ceil(expires_at - now))
            service.append(policy.state_format % (max(0, policy.amount - count), reset))
            if count > policy.amount and (exceeded is None or reset > exceeded[0]):
                exceeded = (reset, policy)
        policy_header = family.policy_header[key_id is not None]
        if exceeded is not None:
            retry_after, policy = exceeded
            RATE_LIMIT_REFUSALS.labels(family.name, "limit").inc()
            error = RateLimited(
                "rate_limited",
                f"Too many requests: '{policy.name}' allows {policy.amount} per {policy.window} s; "
                f"retry after {max(1, retry_after)} s.",
                retry_after=retry_after,
                headers={"RateLimit-Policy": policy_header.decode(), "RateLimit": ", ".join(service)},
            )
            envelope = error.envelope(request_id_var.get())
            response = JSONResponse(envelope, status_code=error.status, headers=error.headers)
            await response(scope, receive, send)
            return
        extra = [(b"ratelimit-policy", policy_header), (b"ratelimit", ", ".join(service).encode())]

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_limits)

    def _store_unavailable(self) -> None:
        now = time.monotonic()
        self._store_down_until = now + self._store_retry
        if now - self._warned_at >= _WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning(
                "rate-limit store unavailable: requests are not counted for %.1f s", self._store_retry, exc_info=True
            )

    def _plan(self, family: Family, key_id: str | None, address: str) -> tuple[tuple[Policy, ...], list[Hit]]:
        """The policies counting this request and its hits: built once per family, key and address (the same
        few callers make most requests), so a request builds no counter key."""
        plan = self._plans.get((family.name, key_id, address))
        if plan is None:
            if len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            limits = [(policy, address) for policy in family.per_address]
            if key_id is not None:
                limits = [(policy, key_id) for policy in family.per_key] + limits
            plan = (
                tuple(policy for policy, _ in limits),
                [(policy.counter_key(who), policy.window, policy.amount) for policy, who in limits],
            )
            self._plans[(family.name, key_id, address)] = plan
        return plan

    def _key_of(self, scope: Scope, family: str) -> str | None:
        """The API key a request counts against: its bearer token's, or the one POST /auth/token names."""
        if family == "auth":
            try:
                body = orjson.loads(scope.get("oms.body", b""))
            except orjson.JSONDecodeError:
                return None
            key = body.get("apiKey") if isinstance(body, dict) else None
            return key if isinstance(key, str) and 0 < len(key) <= _MAX_KEY_LENGTH else None
        for name, value in scope["headers"]:
            if name == b"authorization":
                return self._key_of_authorization(value.decode("latin-1"))
        return None
