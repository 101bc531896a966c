"""What the route-by-route tests share (tests/test_tenant_isolation.py, tests/auth/test_scopes.py): one of each
resource a tenant owns, keyed by the path parameter that names it; the body of a 2xx for every route with an id
in its path; and sending a route's request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from oms.context import AppContext
from tests.funding.support import cash_in, location
from tests.support import Api, OffsetClock, create_customer, create_wallet, fund, quote, settle

TO_ADDRESS = "0x" + "11" * 20
FUNDING_TARGET = {"asset": "usdc", "network": "polygon", "wallet": {"blockchainAddress": TO_ADDRESS}}
DEPOSIT_ADDRESS = {"source": {"asset": "usdc", "network": "polygon"}, "destination": FUNDING_TARGET}

# Every route with an id in its path, and its body (POST, PATCH) or query (GET) for a 2xx on the resources of
# ``one_of_each``; tests/test_tenant_isolation.py keeps this complete.
ID_ROUTES: dict[tuple[str, str], dict[str, Any] | None] = {
    ("GET", "/v0.9/customers/{customer_id}"): None,
    ("PATCH", "/v0.9/customers/{customer_id}"): {"firstName": "Grace"},
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


@dataclass(frozen=True)
class OneOfEach:
    """The resources ``one_of_each`` made, and ``ids``: each one's id by the path parameter that names it."""

    customer: dict[str, Any]
    wallet: dict[str, Any]
    place: dict[str, Any]
    cash_in: dict[str, Any]
    ids: dict[str, str]


async def one_of_each(api: Api, ctx: AppContext, clock: OffsetClock) -> OneOfEach:
    """One of each resource with an id, owned by ``api``'s tenant: a funded wallet, an executed quote and its
    transaction, a webhook and a test delivery, a cash-in, a virtual account and a deposit address."""
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    await fund(api, wallet, "5.00")
    await settle(ctx, clock, rounds=4)
    executed = (await quote(api, customer, wallet, to=TO_ADDRESS, amount="1.00")).json()
    transaction = (await api.post("/transactions", {"quoteId": executed["id"]})).json()
    webhook = (await api.post("/webhooks", {"url": "http://127.0.0.1:9/hooks"})).json()
    delivery = (await api.post(f"/webhooks/{webhook['id']}/test")).json()
    place = await location(api, "CVS")
    deposit = await cash_in(api, customer, wallet, place)
    to_wallet = {"asset": "usdc", "network": "polygon", "wallet": {"id": wallet["id"]}}
    account = (await api.post(f"/customers/{customer['id']}/virtual-accounts", {"destination": to_wallet})).json()
    owned_address = {**DEPOSIT_ADDRESS, "destination": to_wallet}
    address = (await api.post(f"/customers/{customer['id']}/deposit-addresses", owned_address)).json()
    ids = {
        "customer_id": customer["id"],
        "wallet_id": wallet["id"],
        "quote_id": executed["id"],
        "transaction_id": transaction["id"],
        "webhook_id": webhook["id"],
        "delivery_id": delivery["id"],
        "event_id": delivery["eventId"],
        "cash_in_id": deposit["id"],
        "virtual_account_id": account["id"],
        "deposit_address_id": address["id"],
    }
    return OneOfEach(customer, wallet, place, deposit, ids)


async def send(
    api: Api, method: str, template: str, ids: dict[str, Any], payload: dict[str, Any] | None
) -> httpx.Response:
    """A route's request with its path's ids filled in: ``payload`` is a GET's query, a POST's or PATCH's body."""
    path = template.removeprefix("/v0.9").format(**ids)
    if method == "GET":
        return await api.get(path, **(payload or {}))
    if method == "DELETE":
        return await api.client.delete(path, headers=api.headers())
    if method == "PATCH":
        return await api.patch(path, payload)
    return await api.post(path, payload)
