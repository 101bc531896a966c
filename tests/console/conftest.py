"""The console's tests run on a sandbox of their own, seeded once by ``oms demo`` (oms/demo.py) and the extras of
tests/console/scenario.py (a held transfer, a failed delivery), on SQLite or PostgreSQL like every test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from oms import demo, worker
from oms.app import create_app
from oms.config import Settings
from oms.context import AppContext
from oms.demo import LoopbackReceiver
from tests.admin.support import make_operator, with_token
from tests.console.scenario import Extras, add_extras
from tests.console.support import CONSOLE_BASE, Console
from tests.support import fresh_database, sandbox_settings


@dataclass
class Sandbox:
    settings: Settings
    ctx: AppContext
    app: object
    summary: demo.Summary
    extras: Extras


@pytest.fixture(scope="session")
def console_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with fresh_database(tmp_path_factory.mktemp("console-db")) as found:
        yield found


@contextlib.asynccontextmanager
async def seeded(settings: Settings) -> AsyncIterator[tuple[Sandbox, LoopbackReceiver]]:
    """``oms demo`` on the settings' empty database, then the extras (tests/console/scenario.py), in this
    process; the receiver of the extras' webhook runs until the block ends."""
    summary = await demo.seed(AppContext.build(settings))
    ctx = AppContext.build(settings)
    app = create_app(settings, ctx=ctx)
    receiver = LoopbackReceiver(410, "/hooks")
    try:
        async with app.router.lifespan_context(app):
            operator = await with_token(ctx, await make_operator(ctx, "admin"))
            assert operator.token is not None

            async def wait(done) -> None:  # type: ignore[no-untyped-def]
                for _ in range(60):
                    if await done():
                        return
                    await worker.run_once(ctx)
                raise AssertionError("the worker did not get there")

            transport = httpx.ASGITransport(app=app)
            async with (
                httpx.AsyncClient(transport=transport, base_url="http://oms.test/v0.9") as api_http,
                httpx.AsyncClient(transport=transport, base_url="https://oms.test/admin/v1") as admin_http,
            ):
                extras = await add_extras(
                    api_http,
                    admin_http,
                    api_key=summary.api_key,
                    api_secret=summary.api_secret,
                    operator_token=operator.token,
                    receiver=receiver,
                    wait=wait,
                )
            yield Sandbox(settings, ctx, app, summary, extras), receiver
    finally:
        await receiver.stop()


@pytest.fixture(scope="session")
async def sandbox(console_database: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Sandbox]:
    settings = sandbox_settings(Path(tmp_path_factory.mktemp("console-data")), console_database)
    async with seeded(settings) as (made, _):
        yield made


@pytest.fixture
async def console(sandbox: Sandbox) -> AsyncIterator[Console]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=CONSOLE_BASE) as http:  # type: ignore[arg-type]
        yield Console(http)
