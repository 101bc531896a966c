"""``/healthz`` and ``/readyz``: probes outside the versioned API, for load balancers and orchestrators."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from oms.app import create_app
from oms.config import Settings
from oms.context import AppContext
from tests.support import OffsetClock, fresh_database


@pytest.fixture
async def probe(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oms.test") as http:
        yield http


async def test_healthz_is_200_without_authentication(probe: httpx.AsyncClient) -> None:
    response = await probe.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_200_with_every_check_when_ready(probe: httpx.AsyncClient) -> None:
    response = await probe.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "migrations": True,
        "chain": True,
    }
    assert body["checks"]["database"]["revisions"] == body["checks"]["migrations"]["head"]
    assert set(body["checks"]["chain"]["heads"]) == {"polygon", "ethereum"}


async def test_probes_are_outside_the_versioned_api(probe: httpx.AsyncClient) -> None:
    assert (await probe.get("/v0.9/healthz")).status_code == 404
    assert "/healthz" not in (await probe.get("/v0.9/openapi.json")).json()["paths"]


@pytest.fixture
def spare_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with fresh_database(tmp_path_factory.mktemp("behind")) as database:
        yield database


@pytest.fixture
async def behind_migrations(
    settings: Settings, clock: OffsetClock, spare_database: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """The app over a database whose schema is one migration behind the code."""
    stale = settings.model_copy(
        update={"database_url": spare_database["url"], "database_schema": spare_database["schema"]}
    )
    context = AppContext.build(stale, clock=clock)
    application = create_app(stale, ctx=context)
    async with application.router.lifespan_context(application):
        async with context.db.session_scope() as session:
            await session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://oms.test") as http:
            yield http


async def test_readyz_is_503_when_the_schema_is_behind_the_migrations(behind_migrations: httpx.AsyncClient) -> None:
    response = await behind_migrations.get("/readyz")
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["migrations"]["ok"] is False
    assert "oms migrate" in body["checks"]["migrations"]["reason"]
    assert (await behind_migrations.get("/healthz")).status_code == 200


async def test_readyz_is_503_when_the_database_cannot_be_opened(
    settings: Settings, clock: OffsetClock, tmp_path: Path, is_postgres: bool
) -> None:
    """A database that cannot be reached at all (SQLite: a directory in its place; PostgreSQL: a closed port)."""
    if is_postgres:
        from tests.outage.proxy import FaultProxy

        closed = FaultProxy("127.0.0.1", 1)
        await closed.start()
        port = closed.port
        await closed.close()  # nothing listens there now
        url = f"postgresql://postgres@127.0.0.1:{port}/test"
    else:
        (tmp_path / "oms.db").mkdir()
        url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"  # a directory: cannot be opened as a database
    broken = settings.model_copy(update={"database_url": url, "db_connect_timeout_seconds": 1.0})
    application = create_app(broken, ctx=AppContext.build(broken, clock=clock))  # not started: its start needs the db
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://oms.test") as http:
        response = await http.get("/readyz")
        assert response.status_code == 503, response.text
        assert response.json()["checks"]["database"] == {"ok": False, "reason": "unreachable or timed out"}
        assert (await http.get("/healthz")).status_code == 200


async def test_readyz_is_503_when_the_chain_node_is_unreachable(settings: Settings, clock: OffsetClock) -> None:
    with socket.socket() as sock:  # a port nothing listens on once this closes
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    no_node = settings.model_copy(
        update={
            "chain": "evm",
            "evm_rpc_url": f"http://127.0.0.1:{closed}",
            "evm_chain_id": 31337,
            "evm_usdc_address": "0x" + "11" * 20,
            "evm_rpc_timeout_seconds": 1.0,
            "db_connect_timeout_seconds": 2.0,
        }
    )
    context = AppContext.build(no_node, clock=clock)
    application = create_app(no_node, ctx=context)
    async with application.router.lifespan_context(application):  # the API starts while the node is down
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://oms.test") as http:
            response = await http.get("/readyz")
    assert response.status_code == 503, response.text
    checks = response.json()["checks"]
    assert checks["database"]["ok"] is True and checks["migrations"]["ok"] is True
    assert checks["chain"] == {"ok": False, "reason": "unreachable or timed out"}
