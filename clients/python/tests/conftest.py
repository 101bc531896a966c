"""The client against a real OMS server on loopback: the server suite's app (its database, on SQLite or
PostgreSQL as ``OMS_TEST_DATABASE_URL`` says) served by uvicorn on a real socket, with its own injectable
clock, and a real TCP proxy in front of it to break connections and answer as a gateway would."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import uvicorn
from client_support import GatewayProxy

from oms.app import create_app
from oms.auth.service import IssuedKey
from oms.config import Settings
from oms.context import AppContext
from oms_client import AsyncOMS, RetryPolicy
from tests.conftest import database, is_postgres, response_contract, settings  # noqa: F401 (the server suite's fixtures)
from tests.support import OffsetClock, create_key

# Short database timeouts, so a held write lock is answered 503 within about a second.
TIMEOUTS = {"db_lock_timeout_seconds": 1.0, "db_statement_timeout_seconds": 2.0, "db_pool_timeout_seconds": 2.0}
# Retries quick enough for a test run (the server's own Retry-After is still honoured).
QUICK = RetryPolicy(initial_backoff=0.05, max_backoff=0.2, jitter=0.05)


@dataclass
class Server:
    url: str  # ends in /v0.9
    ctx: AppContext
    clock: OffsetClock
    settings: Settings


@pytest.fixture(scope="session")
async def oms_server(settings: Settings) -> AsyncIterator[Server]:  # noqa: F811
    clock = OffsetClock()
    served = settings.model_copy(update=TIMEOUTS)
    ctx = AppContext.build(served, clock=clock)
    application = create_app(served, ctx=ctx)
    sock = socket.socket()
    # Accepted connections inherit it: without it, uvicorn's separate writes of an answer's head and body
    # wait for the client's delayed ACK, 40 ms a request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(application, lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    async with application.router.lifespan_context(application):
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.01)
        yield Server(f"http://127.0.0.1:{port}/v0.9", ctx, clock, served)
        server.should_exit = True
        await task
    sock.close()


@pytest.fixture
async def issued(oms_server: Server) -> IssuedKey:
    """A brand-new tenant's API key and secret; the server's clock is back at real time (webhook signatures
    are checked against the wall clock)."""
    oms_server.clock.offset = timedelta()
    return await create_key(oms_server.ctx)


@pytest.fixture
async def oms(oms_server: Server, issued: IssuedKey) -> AsyncIterator[AsyncOMS]:
    async with AsyncOMS(oms_server.url, issued.key_id, issued.secret, retry=QUICK) as client:
        yield client


@pytest.fixture
async def gateway(oms_server: Server) -> AsyncIterator[GatewayProxy]:
    proxy = GatewayProxy(oms_server.url)
    await proxy.start()
    yield proxy
    await proxy.close()
