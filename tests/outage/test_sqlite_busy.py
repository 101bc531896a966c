"""SQLite: a writer waits for the database's one write lock at most OMS_DB_LOCK_TIMEOUT_SECONDS (it waited 30 s),
then the request is 503 ``service_unavailable``; it succeeds once the lock is free."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from oms.app import create_app
from oms.config import Settings
from oms.context import AppContext
from tests.support import Api, OffsetClock, assert_error


@pytest.fixture
async def impatient(settings: Settings, clock: OffsetClock, is_postgres: bool) -> AsyncIterator[Any]:
    if is_postgres:
        pytest.skip("SQLite's write lock")
    quick = settings.model_copy(update={"db_lock_timeout_seconds": 0.5, "db_statement_timeout_seconds": 1.0})
    application = create_app(quick, ctx=AppContext.build(quick, clock=clock))
    async with application.router.lifespan_context(application):
        yield application


async def test_a_held_write_lock_is_503_within_the_lock_timeout(impatient: Any, api: Api, settings: Settings) -> None:
    transport = httpx.ASGITransport(app=impatient)
    async with httpx.AsyncClient(transport=transport, base_url="http://oms.test/v0.9") as http:
        client = Api(http, api.token, api.issued)
        holder = sqlite3.connect(make_url(settings.database_url).database or "", isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            started = time.monotonic()
            response = await client.post("/customers", {})
            assert time.monotonic() - started < 3.0
            error = assert_error(response, 503, "service_unavailable")
            assert error["type"] == "api_error"
            assert int(response.headers["retry-after"]) > 0
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert (await client.post("/customers", {})).status_code == 201
