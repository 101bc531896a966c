from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.admin.support import Browser

ADMIN_BASE = "https://oms.test/admin/v1"  # https: the session cookie is Secure, and a client only returns it so


@pytest.fixture
async def admin_http(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ADMIN_BASE) as http:
        yield http


@pytest.fixture
async def browser(app) -> AsyncIterator[Browser]:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ADMIN_BASE) as http:
        yield Browser(http)
