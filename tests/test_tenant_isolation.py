"""Another tenant's ids are unknown (404) on every endpoint that takes an id."""

from __future__ import annotations

import re

import pytest

from tests.support import Api, assert_error, create_customer, create_wallet

# Every route with an id in its path, and the body to send; the coverage test below keeps this complete.
ID_ROUTES = {
    ("GET", "/v0.9/customers/{customer_id}"): None,
    ("PATCH", "/v0.9/customers/{customer_id}"): {"firstName": "Mallory"},
    ("POST", "/v0.9/customers/{customer_id}/wallets"): {"asset": "usdt", "chain": "polygon"},
    ("GET", "/v0.9/customers/{customer_id}/wallets"): None,
    ("GET", "/v0.9/wallets/{wallet_id}/balance"): None,
}


async def test_every_id_taking_route_is_covered(app) -> None:
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if "{" in path
        for method in operations
    }
    assert routes == set(ID_ROUTES)


@pytest.mark.parametrize(("method", "template"), list(ID_ROUTES))
async def test_another_tenants_id_is_404(api: Api, other_api: Api, method: str, template: str) -> None:
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    path = template.removeprefix("/v0.9").format(customer_id=customer["id"], wallet_id=wallet["id"])
    body = ID_ROUTES[(method, template)]
    if method == "GET":
        response = await other_api.get(path)
    elif method == "PATCH":
        response = await other_api.patch(path, body)
    else:
        response = await other_api.post(path, body)
    assert_error(response, 404, "resource_missing")
    assert re.search(r"cst_|wlt_", response.json()["error"]["message"])
