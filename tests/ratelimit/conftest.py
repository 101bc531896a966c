"""A server of its own per test, over the suite's database, with the limits the test sets (low ones), its own
clock, and a client address of its own: counters and lockouts of one test never meet another's."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from oms.app import create_app
from oms.config import Settings
from oms.context import AppContext
from tests.support import OffsetClock


class Limited:
    """An app with these settings: ``client(address)`` speaks to it from that address."""

    def __init__(self, app: Any, ctx: AppContext, clock: OffsetClock) -> None:
        self.app = app
        self.ctx = ctx
        self.clock = clock

    def client(self, address: str | None = None, *, base_url: str = "http://oms.test/v0.9") -> httpx.AsyncClient:
        """A client of the OMS API (or of what ``base_url`` names, e.g. the admin API over https)."""
        transport = httpx.ASGITransport(app=self.app, client=(address or new_address(), 40000))
        return httpx.AsyncClient(transport=transport, base_url=base_url)


def new_address() -> str:
    """An address no other test uses (documentation range, random)."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


@pytest.fixture
async def limited(settings: Settings) -> AsyncIterator[Callable[..., Awaitable[Limited]]]:
    started: list[tuple[Any, Any]] = []

    async def start(**overrides: Any) -> Limited:
        clock = OffsetClock()
        configured = Settings(**{**settings.model_dump(), **overrides})
        ctx = AppContext.build(configured, clock=clock)
        app = create_app(configured, ctx=ctx)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        started.append((lifespan, app))
        return Limited(app, ctx, clock)

    yield start
    for lifespan, _ in reversed(started):
        await lifespan.__aexit__(None, None, None)
