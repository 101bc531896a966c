"""Helpers for the client's tests: a real HTTP/1.1 proxy on loopback in front of the server, and a real
database lock that makes the server answer 503."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from oms.config import Settings
from oms.db import normalise_url


@dataclass
class Exchange:
    """One request the proxy received, and the status the client was sent (None: the connection was cut)."""

    method: str
    path: str
    idempotency_key: str | None
    authorization: str | None
    status: int | None = None
    upstream_status: int | None = None


@dataclass
class Message:
    start: str
    head: bytes
    headers: dict[str, str]
    body: bytes

    @property
    def raw(self) -> bytes:
        return self.head + self.body


async def read_message(reader: asyncio.StreamReader) -> Message | None:
    """One HTTP/1.1 message (request or response) off the stream, or None at its end."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            body += size_line + chunk
            if size == 0:
                break
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Message(lines[0], head, headers, body)


class GatewayProxy:
    """Stands between the client and the server as a load balancer would, and can misbehave as one does:

    - ``drop_answers(n)``: forward the next ``n`` requests, let the server answer (it has committed by then),
      and cut the client's connection instead of passing the answer on;
    - ``answer_with(status, retry_after, n)``: answer the next ``n`` requests itself (a rate limiter's 429, an
      overloaded gateway's 503) without forwarding them;
    - ``on_answer``: awaited with each upstream status before it is passed on.

    ``exchanges`` records every request it received, in order."""

    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._prefix = parts.path
        self._server: asyncio.Server | None = None
        self._drops = 0
        self._canned: list[tuple[int, float]] = []
        self.on_answer: Callable[[int], Awaitable[None]] | None = None
        self.exchanges: list[Exchange] = []

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}{self._prefix}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def drop_answers(self, count: int = 1) -> None:
        self._drops += count

    def answer_with(self, status: int, *, retry_after: float, times: int = 1) -> None:
        self._canned += [(status, retry_after)] * times

    def to(self, method: str, path: str) -> list[Exchange]:
        """The exchanges of this method and path (without the /v0.9 prefix or a query)."""
        return [e for e in self.exchanges if e.method == method and e.path.split("?")[0] == self._prefix + path]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while (request := await read_message(reader)) is not None:
                method, path, _ = request.start.split(" ", 2)
                exchange = Exchange(
                    method, path, request.headers.get("idempotency-key"), request.headers.get("authorization")
                )
                self.exchanges.append(exchange)
                if self._canned:
                    status, retry_after = self._canned.pop(0)
                    writer.write(_canned_answer(status, retry_after))
                    await writer.drain()
                    exchange.status = status
                    continue
                if upstream is None:
                    upstream = await asyncio.open_connection(*self._upstream)
                upstream[1].write(request.raw)
                await upstream[1].drain()
                answer = await read_message(upstream[0])
                if answer is None:
                    break
                exchange.upstream_status = int(answer.start.split(" ")[1])
                if self.on_answer is not None:
                    await self.on_answer(exchange.upstream_status)
                if self._drops:
                    self._drops -= 1
                    break  # the server answered; the client never hears it
                writer.write(answer.raw)
                await writer.drain()
                exchange.status = exchange.upstream_status
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()
            if upstream is not None:
                upstream[1].transport.abort()


def _canned_answer(status: int, retry_after: float) -> bytes:
    kind = "rate_limit_error" if status == 429 else "api_error"
    body = json.dumps(
        {"error": {"type": kind, "code": "gateway", "message": "try later", "param": None, "requestId": None}}
    ).encode()
    head = (
        f"HTTP/1.1 {status} Gateway\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
        f"retry-after: {retry_after:g}\r\n\r\n"
    )
    return head.encode() + body


@contextlib.asynccontextmanager
async def customers_locked(settings: Settings) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Another database client holds a lock that every customer write waits for (SQLite's write lock, or
    PostgreSQL's exclusive lock on the customers table) until the yielded ``release`` is awaited."""
    if settings.database_url.startswith("sqlite"):
        holder = sqlite3.connect(make_url(settings.database_url).database or "", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        released = False

        async def release_sqlite() -> None:
            nonlocal released
            if not released:
                released = True
                holder.execute("ROLLBACK")

        try:
            yield release_sqlite
        finally:
            await release_sqlite()
            holder.close()
        return
    engine = create_async_engine(normalise_url(settings.database_url))
    connection = await engine.connect()
    transaction = await connection.begin()
    await connection.execute(text(f'LOCK TABLE "{settings.database_schema}".customers IN EXCLUSIVE MODE'))

    async def release_postgres() -> None:
        if transaction.is_active:
            await transaction.rollback()

    try:
        yield release_postgres
    finally:
        await release_postgres()
        await connection.close()
        await engine.dispose()


async def waiting_for_customers(settings: Settings) -> None:
    """Returns once a request waits for the lock of ``customers_locked`` (PostgreSQL): it has claimed its
    Idempotency-Key by then, since the key is claimed first."""
    table = f'"{settings.database_schema}".customers'
    waiting = text("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = CAST(:table AS regclass)")
    engine = create_async_engine(normalise_url(settings.database_url))
    try:
        async with engine.connect() as connection:
            for _ in range(500):
                if await connection.scalar(waiting, {"table": table}):
                    return
                await asyncio.sleep(0.01)
        raise AssertionError("no request is waiting for the customers table")
    finally:
        await engine.dispose()
