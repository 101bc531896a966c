"""What every operation shares: building the request, the bearer token, retries, typed answers, pagination.

The generated ``_operations.py`` gives each operation its typed method; each calls ``_call`` (or ``_iterate``)
here with the operation's description. Sync and async differ only in how they wait and lock.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import tenacity
from pydantic import BaseModel

from oms_client.errors import APIConnectionError, OMSError, from_response

T = TypeVar("T")
USER_AGENT = "oms-client/0.1.0"
# Network failures after which the same request may be sent again. A DELETE is repeated only when it cannot
# have reached the server (no connection was made): a repeated DELETE that had succeeded would answer 404.
NETWORK_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True, slots=True)
class Operation:
    """One API operation as the OpenAPI document describes it."""

    method: str
    path: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    item: type[BaseModel] | None = None
    idempotent: bool = False
    authenticated: bool = True


TOKEN = Operation("POST", "/auth/token", authenticated=False)


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of one call: connection errors and timeouts, 409 ``idempotency_key_in_use``, 429 and 503, with
    exponential backoff and jitter, or the server's ``Retry-After`` when it gives one. Never another 4xx."""

    max_attempts: int = 4  # the first try and three retries
    initial_backoff: float = 0.5  # seconds, doubled at each retry
    max_backoff: float = 8.0
    jitter: float = 0.5  # up to this many seconds added at random
    max_retry_after: float = 60.0  # a longer Retry-After is not waited for: the error is raised

    def retryable(self, error: BaseException) -> bool:
        if isinstance(error, APIConnectionError):
            return error.repeatable
        if not isinstance(error, OMSError) or error.status is None:
            return False
        if error.retry_after is not None and error.retry_after > self.max_retry_after:
            return False
        return error.status in (429, 503) or (error.status == 409 and error.code == "idempotency_key_in_use")

    def wait(self, state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, OMSError) and error.retry_after is not None:
            return error.retry_after
        return tenacity.wait_exponential_jitter(
            multiplier=self.initial_backoff, max=self.max_backoff, jitter=self.jitter
        )(state)

    def options(self) -> dict[str, Any]:
        return {
            "stop": tenacity.stop_after_attempt(self.max_attempts),
            "wait": self.wait,
            "retry": tenacity.retry_if_exception(self.retryable),
            "reraise": True,
        }


@dataclass
class Request:
    """One call's request, fixed before the first attempt: its Idempotency-Key is the same on every retry."""

    operation: Operation
    url: str
    params: dict[str, str]
    json: Any
    headers: dict[str, str]
    refreshed: bool = False  # the token was refreshed once for this call after a 401

    def send_kwargs(self, token: str | None) -> dict[str, Any]:
        headers = dict(self.headers)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        kwargs: dict[str, Any] = {"params": self.params, "headers": headers}
        if self.json is not None:
            kwargs["json"] = self.json
        return kwargs


def _query_value(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def prepare(
    base_url: str,
    operation: Operation,
    path: Mapping[str, str],
    query: Mapping[str, Any],
    body: BaseModel | Mapping[str, Any] | None,
    idempotency_key: str | None,
) -> Request:
    url = base_url + operation.path.format(**{name: quote(str(value), safe="") for name, value in path.items()})
    params = {name: _query_value(value) for name, value in query.items() if value is not None}
    json: Any = None
    if operation.body is not None:
        model = body if isinstance(body, operation.body) else operation.body.model_validate(body or {})
        json = model.model_dump(mode="json", by_alias=True, exclude_unset=True)
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if operation.idempotent:
        headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
    return Request(operation, url, params, json, headers)


def parse(operation: Operation, response: httpx.Response) -> Any:
    """The answer's model, or the typed error of a non-2xx answer."""
    if response.is_error:
        raise from_response(response)
    if operation.response is None:
        return response.json()
    return operation.response.model_validate(response.json())


def connection_error(request: Request, error: Exception) -> APIConnectionError:
    repeatable = request.operation.method != "DELETE" or isinstance(error, NOT_SENT_ERRORS)
    return APIConnectionError(f"{type(error).__name__}: {error}", repeatable=repeatable)


@dataclass
class Token:
    value: str = field(repr=False)
    refresh_at: float  # on the client's monotonic clock


def token_of(answer: Mapping[str, Any], now: float, margin: float) -> Token:
    lifetime = float(answer["expiresIn"])
    # Refresh `margin` seconds early, or halfway through a lifetime shorter than twice the margin.
    return Token(str(answer["accessToken"]), now + max(lifetime - margin, lifetime / 2))


class _Base:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        *,
        retry: RetryPolicy | None = None,
        refresh_margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._credentials = {"apiKey": api_key, "apiSecret": api_secret}
        self._retry = retry or RetryPolicy()
        self._refresh_margin = refresh_margin
        self._clock = clock  # monotonic seconds; injectable for simulations and tests
        self._token: Token | None = None

    def __repr__(self) -> str:  # never the secret
        return f"{type(self).__name__}({self._base_url!r}, api_key={self._credentials['apiKey']!r})"

    def _stale(self) -> bool:
        return self._token is None or self._clock() >= self._token.refresh_at

    def _forget(self, value: str) -> None:
        # Only the token that was refused: another thread may have replaced it already.
        if self._token is not None and self._token.value == value:
            self._token = None


class SyncBase(_Base):
    """Blocking transport; safe to share between threads."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        refresh_margin: float = 60.0,
        http_client: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(base_url, api_key, api_secret, retry=retry, refresh_margin=refresh_margin, clock=clock)
        self._http = http_client or httpx.Client(timeout=timeout)
        self._owns_http = http_client is None
        self._lock = threading.Lock()
        self._sleep = sleep

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> SyncBase:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _retrying(self, attempt: Callable[[], T]) -> T:
        return tenacity.Retrying(sleep=self._sleep, **self._retry.options())(attempt)

    def _send(self, request: Request, token: str | None) -> httpx.Response:
        try:
            return self._http.request(request.operation.method, request.url, **request.send_kwargs(token))
        except NETWORK_ERRORS as error:
            raise connection_error(request, error) from error

    def _bearer(self) -> str:
        with self._lock:
            if self._stale():
                request = prepare(self._base_url, TOKEN, {}, {}, None, None)
                request.json = self._credentials
                # No retries of its own: this is part of the call's attempt, which the call's policy retries.
                answer = parse(TOKEN, self._send(request, None))
                self._token = token_of(answer, self._clock(), self._refresh_margin)
            assert self._token is not None
            return self._token.value

    def _attempt(self, request: Request) -> Any:
        if not request.operation.authenticated:
            return parse(request.operation, self._send(request, None))
        token = self._bearer()
        response = self._send(request, token)
        if response.status_code == 401 and not request.refreshed:
            request.refreshed = True
            with self._lock:
                self._forget(token)
            response = self._send(request, self._bearer())
        return parse(request.operation, response)

    def _call(
        self,
        operation: Operation,
        path: Mapping[str, str],
        query: Mapping[str, Any],
        body: BaseModel | Mapping[str, Any] | None,
        idempotency_key: str | None,
    ) -> Any:
        request = prepare(self._base_url, operation, path, query, body, idempotency_key)
        return self._retrying(lambda: self._attempt(request))

    def _iterate(self, operation: Operation, path: Mapping[str, str], query: Mapping[str, Any]) -> Iterator[Any]:
        cursors = Cursors(query)
        while cursors.query is not None:
            page = self._call(operation, path, cursors.query, None, None)
            yield from cursors.advance(page)


class AsyncBase(_Base):
    """asyncio transport; safe to share between tasks of one event loop."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        refresh_margin: float = 60.0,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(base_url, api_key, api_secret, retry=retry, refresh_margin=refresh_margin, clock=clock)
        self._http = http_client or httpx.AsyncClient(timeout=timeout)
        self._owns_http = http_client is None
        self._lock = asyncio.Lock()
        self._sleep = sleep

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncBase:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def _retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        return await tenacity.AsyncRetrying(sleep=self._sleep, **self._retry.options())(attempt)

    async def _send(self, request: Request, token: str | None) -> httpx.Response:
        try:
            return await self._http.request(request.operation.method, request.url, **request.send_kwargs(token))
        except NETWORK_ERRORS as error:
            raise connection_error(request, error) from error

    async def _bearer(self) -> str:
        async with self._lock:
            if self._stale():
                request = prepare(self._base_url, TOKEN, {}, {}, None, None)
                request.json = self._credentials
                answer = parse(TOKEN, await self._send(request, None))
                self._token = token_of(answer, self._clock(), self._refresh_margin)
            assert self._token is not None
            return self._token.value

    async def _attempt(self, request: Request) -> Any:
        if not request.operation.authenticated:
            return parse(request.operation, await self._send(request, None))
        token = await self._bearer()
        response = await self._send(request, token)
        if response.status_code == 401 and not request.refreshed:
            request.refreshed = True
            async with self._lock:
                self._forget(token)
            response = await self._send(request, await self._bearer())
        return parse(request.operation, response)

    async def _call(
        self,
        operation: Operation,
        path: Mapping[str, str],
        query: Mapping[str, Any],
        body: BaseModel | Mapping[str, Any] | None,
        idempotency_key: str | None,
    ) -> Any:
        request = prepare(self._base_url, operation, path, query, body, idempotency_key)

        async def attempt() -> Any:
            return await self._attempt(request)

        return await self._retrying(attempt)

    async def _iterate(
        self, operation: Operation, path: Mapping[str, str], query: Mapping[str, Any]
    ) -> AsyncIterator[Any]:
        cursors = Cursors(query)
        while cursors.query is not None:
            page = await self._call(operation, path, cursors.query, None, None)
            for item in cursors.advance(page):
                yield item


class Cursors:
    """Where a paginated walk is. Pages come newest first. Forwards (the default) follows ``nextCursor`` as
    ``startingAfter``; given ``endingBefore``, the walk goes backwards towards the newest, following
    ``previousCursor``, and yields each page's items in that direction of travel (oldest first)."""

    def __init__(self, query: Mapping[str, Any]) -> None:
        self.backwards = query.get("endingBefore") is not None
        self.query: dict[str, Any] | None = dict(query)

    def advance(self, page: Any) -> list[Any]:
        items = list(page.data)
        cursor = page.previous_cursor if self.backwards else page.next_cursor
        if page.has_more and cursor and items and self.query is not None:
            self.query["endingBefore" if self.backwards else "startingAfter"] = cursor
        else:
            self.query = None
        return items[::-1] if self.backwards else items
