from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.admin.conftest import ADMIN_BASE


@pytest.fixture
async def admin_http(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ADMIN_BASE) as http:
        yield http
