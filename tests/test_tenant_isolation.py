"""Another tenant's ids are unknown (404) on every endpoint that takes an id."""

from __future__ import annotations

import re

import pytest

from tests.routes import ID_ROUTES, one_of_each, send
from tests.support import Api, assert_error


async def test_every_id_taking_route_is_covered(app) -> None:
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if "{" in path
        for method in operations
    }
    assert routes == set(ID_ROUTES)


@pytest.fixture
async def owned(api: Api, ctx, clock) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """One of each id-bearing resource, owned by ``api``'s tenant, keyed by its path parameter name."""
    return (await one_of_each(api, ctx, clock)).ids


@pytest.mark.parametrize(("method", "template"), list(ID_ROUTES))
async def test_another_tenants_id_is_404(owned: dict[str, str], other_api: Api, method: str, template: str) -> None:
    response = await send(other_api, method, template, owned, ID_ROUTES[(method, template)])
    assert_error(response, 404, "resource_missing")
    assert re.search(r"[a-z]+_[0-9a-z]{26}", response.json()["error"]["message"])
