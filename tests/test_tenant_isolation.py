"""Another tenant's ids are unknown (404) on every endpoint that takes an id."""

from __future__ import annotations

import re

import pytest

from tests.funding.support import cash_in, location
from tests.support import Api, assert_error, create_customer, create_wallet, fund, quote, settle

FUNDING_TARGET = {"asset": "usdc", "network": "polygon", "wallet": {"blockchainAddress": "0x" + "11" * 20}}
DEPOSIT_ADDRESS = {"source": {"asset": "usdc", "network": "polygon"}, "destination": FUNDING_TARGET}

# Every route with an id in its path, and the body to send; the coverage test below keeps this complete.
ID_ROUTES = {
    ("GET", "/v0.9/customers/{customer_id}"): None,
    ("PATCH", "/v0.9/customers/{customer_id}"): {"firstName": "Mallory"},
    ("POST", "/v0.9/customers/{customer_id}/wallets"): {"asset": "usdt", "chain": "polygon"},
    ("GET", "/v0.9/customers/{customer_id}/wallets"): None,
    ("GET", "/v0.9/customers/{customer_id}/transactions"): None,
    ("GET", "/v0.9/wallets/{wallet_id}/balance"): None,
    ("GET", "/v0.9/quotes/{quote_id}"): None,
    ("GET", "/v0.9/transactions/{transaction_id}"): None,
    ("GET", "/v0.9/webhooks/{webhook_id}"): None,
    ("PATCH", "/v0.9/webhooks/{webhook_id}"): {"enabled": False},
    ("DELETE", "/v0.9/webhooks/{webhook_id}"): None,
    ("POST", "/v0.9/webhooks/{webhook_id}/rotate-secret"): {},
    ("POST", "/v0.9/webhooks/{webhook_id}/test"): {},
    ("GET", "/v0.9/webhooks/{webhook_id}/deliveries"): None,
    ("GET", "/v0.9/webhooks/{webhook_id}/deliveries/{delivery_id}"): None,
    ("POST", "/v0.9/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"): {},
    ("GET", "/v0.9/events/{event_id}"): None,
    ("GET", "/v0.9/cash-ins/{cash_in_id}"): None,
    ("POST", "/v0.9/cash-ins/{cash_in_id}/refresh"): {},
    ("POST", "/v0.9/customers/{customer_id}/virtual-accounts"): {"destination": FUNDING_TARGET},
    ("GET", "/v0.9/customers/{customer_id}/virtual-accounts"): None,
    ("GET", "/v0.9/virtual-accounts/{virtual_account_id}"): None,
    ("PATCH", "/v0.9/virtual-accounts/{virtual_account_id}"): {"status": "paused"},
    ("DELETE", "/v0.9/virtual-accounts/{virtual_account_id}"): None,
    ("POST", "/v0.9/virtual-accounts/{virtual_account_id}/simulate"): {"rail": "ach_in", "amount": "10.00"},
    ("POST", "/v0.9/customers/{customer_id}/deposit-addresses"): DEPOSIT_ADDRESS,
    ("GET", "/v0.9/customers/{customer_id}/deposit-addresses"): None,
    ("GET", "/v0.9/deposit-addresses/{deposit_address_id}"): None,
    ("PATCH", "/v0.9/deposit-addresses/{deposit_address_id}"): {"status": "paused"},
    ("DELETE", "/v0.9/deposit-addresses/{deposit_address_id}"): None,
    ("POST", "/v0.9/deposit-addresses/{deposit_address_id}/simulate"): {"amount": {"value": "1.00"}},
}


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
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    await fund(api, wallet, "5.00")
    await settle(ctx, clock, rounds=4)
    offer = (await quote(api, customer, wallet, to="0x" + "11" * 20, amount="1.00")).json()
    transaction = (await api.post("/transactions", {"quoteId": offer["id"]})).json()
    webhook = (await api.post("/webhooks", {"url": "http://127.0.0.1:9/hooks"})).json()
    delivery = (await api.post(f"/webhooks/{webhook['id']}/test")).json()
    deposit = await cash_in(api, customer, wallet, await location(api, "CVS"))
    to_wallet = {"asset": "usdc", "network": "polygon", "wallet": {"id": wallet["id"]}}
    account = (await api.post(f"/customers/{customer['id']}/virtual-accounts", {"destination": to_wallet})).json()
    owned_address = {**DEPOSIT_ADDRESS, "destination": to_wallet}
    address = (await api.post(f"/customers/{customer['id']}/deposit-addresses", owned_address)).json()
    return {
        "customer_id": customer["id"],
        "wallet_id": wallet["id"],
        "quote_id": offer["id"],
        "transaction_id": transaction["id"],
        "webhook_id": webhook["id"],
        "delivery_id": delivery["id"],
        "event_id": delivery["eventId"],
        "cash_in_id": deposit["id"],
        "virtual_account_id": account["id"],
        "deposit_address_id": address["id"],
    }


@pytest.mark.parametrize(("method", "template"), list(ID_ROUTES))
async def test_another_tenants_id_is_404(owned: dict[str, str], other_api: Api, method: str, template: str) -> None:
    path = template.removeprefix("/v0.9").format(**owned)
    body = ID_ROUTES[(method, template)]
    if method == "GET":
        response = await other_api.get(path)
    elif method == "PATCH":
        response = await other_api.patch(path, body)
    elif method == "DELETE":
        response = await other_api.client.delete(path, headers=other_api.headers())
    else:
        response = await other_api.post(path, body)
    assert_error(response, 404, "resource_missing")
    assert re.search(r"[a-z]+_[0-9a-z]{26}", response.json()["error"]["message"])
