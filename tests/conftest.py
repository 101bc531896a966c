"""Test harness: the real app over real databases.

SQLite by default; set ``OMS_TEST_DATABASE_URL`` to a PostgreSQL URL to run the same suite there (CI
does both). Each run migrates a fresh database (a new schema on PostgreSQL) with Alembic. Tests are
isolated by tenant: every test gets its own tenant, exactly as two customers of one server are.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from oms.app import create_app
from oms.audit import service as audit
from oms.config import Settings
from oms.context import AppContext
from tests.contract import Contract, checking
from tests.support import POSTGRES_URL, Api, OffsetClock, fresh_database, new_api, sandbox_settings


@pytest.fixture(scope="session", autouse=True)
def response_contract(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Contract]:
    """Every 2xx answer of a documented operation, in every test, checked against the app's OpenAPI document
    (tests/contract.py). The document is a sandbox server's (a superset of a live one's), built without a database."""
    data = Path(tmp_path_factory.mktemp("contract"))
    document = create_app(sandbox_settings(data, {"url": f"sqlite+aiosqlite:///{data / 'unused.db'}", "schema": ""}))
    with checking(Contract(document.openapi())) as contract:
        yield contract


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A freshly migrated database for this run: its URL and (PostgreSQL) schema."""
    with fresh_database(tmp_path_factory.mktemp("db")) as found:
        yield found


@pytest.fixture(scope="session")
def settings(database: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return sandbox_settings(Path(tmp_path_factory.mktemp("data")), database)


@pytest.fixture(scope="session")
def clock() -> OffsetClock:
    return OffsetClock()


@pytest.fixture(scope="session")
async def ctx(settings: Settings, clock: OffsetClock) -> AsyncIterator[AppContext]:
    context = AppContext.build(settings, clock=clock)
    await context.start()
    yield context
    # The suite's own audit chain, after every test wrote to it: every record in it, none broken.
    async with context.db.session_scope(write=False) as session:
        verdict = await audit.verify(session)
    assert verdict.sound, f"the suite's audit log is broken at record {verdict.broken_at}: {verdict.reason}"


@pytest.fixture(scope="session")
async def app(settings: Settings, ctx: AppContext):  # type: ignore[no-untyped-def]
    application = create_app(settings, ctx=ctx)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://oms.test/v0.9") as http:
        yield http


@pytest.fixture
async def api(client: httpx.AsyncClient, ctx: AppContext) -> Api:
    """A signed-in client of a brand-new tenant."""
    return await new_api(client, ctx)


@pytest.fixture
async def other_api(client: httpx.AsyncClient, ctx: AppContext) -> Api:
    """A second, unrelated tenant."""
    return await new_api(client, ctx)


@pytest.fixture
def is_postgres() -> bool:
    return bool(POSTGRES_URL)
