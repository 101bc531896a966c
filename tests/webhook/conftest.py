"""Webhook tests run against their own app and worker sharing one clock, so they can move time
(retries, rotation windows) without disturbing the rest of the suite, and start at real time so the
official ``standardwebhooks`` verifier (which checks timestamps against the wall clock) accepts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest

from oms.app import create_app
from oms.config import Settings
from oms.context import AppContext
from tests.support import Api, OffsetClock, new_api
from tests.webhook.receiver import Receiver


@pytest.fixture(scope="session")
def wclock() -> OffsetClock:
    return OffsetClock()


@pytest.fixture(scope="session")
async def wctx(settings: Settings, wclock: OffsetClock) -> AsyncIterator[AppContext]:
    context = AppContext.build(settings, clock=wclock)
    application = create_app(settings, ctx=context)
    async with application.router.lifespan_context(application):
        context.app = application  # type: ignore[attr-defined]
        yield context


@pytest.fixture
async def wapi(wctx: AppContext, wclock: OffsetClock) -> AsyncIterator[Api]:
    """A new tenant on the webhook app; the shared clock is back at real time."""
    wclock.offset = timedelta()
    wctx.webhook_delivery.dispatcher.retry.rng.seed(7)
    transport = httpx.ASGITransport(app=wctx.app)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://oms.test/v0.9") as http:
        yield await new_api(http, wctx)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()
