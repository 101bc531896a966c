"""Scoped API keys: every operation of the OpenAPI document declares the one scope it needs, and a key is held to it.

The matrix is generated from the document (``app.openapi()``): for each operation, a key holding every scope but
the declared one is refused (403 ``insufficient_scope`` naming it) and a key holding only that scope is served.
A route added without its scope, or without its case here, fails ``test_every_operation_is_in_the_matrix``.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from oms.app import create_app
from oms.auth import scopes
from oms.auth.scopes import FULL, Scope
from oms.context import AppContext
from tests.funding.support import barcode_auth, cash_in, location
from tests.support import (
    Api,
    OffsetClock,
    assert_error,
    create_customer,
    create_key,
    create_wallet,
    exchange,
    fund,
    quote,
    sandbox_settings,
    settle,
)

TOKEN_EXCHANGE = ("POST", "/v0.9/auth/token")
TO_ADDRESS = "0x" + "11" * 20
FUNDING_TARGET = {"asset": "usdc", "network": "polygon", "wallet": {"blockchainAddress": TO_ADDRESS}}
NYC = {"latitude": 40.7128, "longitude": -74.0060}

Owned = dict[str, Any]
# Each operation: its body (POST, PATCH) or query (GET, DELETE) for a 2xx, from what the tenant owns.
Case = Callable[[Owned], dict[str, Any] | None]


def _document() -> dict[str, Any]:
    """A sandbox server's document (a superset of a live one's), built without a database, at collection."""
    data = Path(tempfile.mkdtemp(prefix="oms-scopes-"))
    settings = sandbox_settings(data, {"url": f"sqlite+aiosqlite:///{data / 'unused.db'}", "schema": ""})
    return create_app(settings).openapi()


DOCUMENT = _document()
OPERATIONS = [
    (method.upper(), path, operation)
    for path, operations in DOCUMENT["paths"].items()
    for method, operation in operations.items()
    if (method.upper(), path) != TOKEN_EXCHANGE
]

MATRIX: dict[tuple[str, str], Case] = {
    ("POST", "/v0.9/customers"): lambda o: {},
    ("GET", "/v0.9/customers"): lambda o: None,
    ("GET", "/v0.9/customers/{customer_id}"): lambda o: None,
    ("PATCH", "/v0.9/customers/{customer_id}"): lambda o: {"firstName": "Grace"},
    ("POST", "/v0.9/customers/{customer_id}/wallets"): lambda o: {"asset": "usdt", "chain": "polygon"},
    ("GET", "/v0.9/customers/{customer_id}/wallets"): lambda o: None,
    ("GET", "/v0.9/wallets/{wallet_id}/balance"): lambda o: None,
    ("POST", "/v0.9/quotes"): lambda o: o["quote_body"],
    ("GET", "/v0.9/quotes/{quote_id}"): lambda o: None,
    ("POST", "/v0.9/transactions"): lambda o: {"quoteId": o["open_quote_id"]},
    ("GET", "/v0.9/transactions"): lambda o: None,
    ("GET", "/v0.9/transactions/{transaction_id}"): lambda o: None,
    ("GET", "/v0.9/customers/{customer_id}/transactions"): lambda o: None,
    ("POST", "/v0.9/webhooks"): lambda o: {"url": "http://127.0.0.1:9/other-hooks"},
    ("GET", "/v0.9/webhooks"): lambda o: None,
    ("GET", "/v0.9/webhooks/{webhook_id}"): lambda o: None,
    ("PATCH", "/v0.9/webhooks/{webhook_id}"): lambda o: {"enabled": False},
    ("DELETE", "/v0.9/webhooks/{webhook_id}"): lambda o: None,
    ("POST", "/v0.9/webhooks/{webhook_id}/rotate-secret"): lambda o: {},
    ("POST", "/v0.9/webhooks/{webhook_id}/test"): lambda o: {},
    ("GET", "/v0.9/webhooks/{webhook_id}/deliveries"): lambda o: None,
    ("GET", "/v0.9/webhooks/{webhook_id}/deliveries/{delivery_id}"): lambda o: None,
    ("POST", "/v0.9/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"): lambda o: {},
    ("GET", "/v0.9/events"): lambda o: None,
    ("GET", "/v0.9/events/{event_id}"): lambda o: None,
    ("GET", "/v0.9/cash-locations"): lambda o: {"provider": "greendot", "flow": "cashIn", "radius": 100, **NYC},
    ("POST", "/v0.9/cash-ins"): lambda o: o["cash_in_body"],
    ("GET", "/v0.9/cash-ins"): lambda o: None,
    ("GET", "/v0.9/cash-ins/{cash_in_id}"): lambda o: None,
    ("POST", "/v0.9/cash-ins/{cash_in_id}/refresh"): lambda o: {},
    ("POST", "/v0.9/customers/{customer_id}/virtual-accounts"): lambda o: {"destination": FUNDING_TARGET},
    ("GET", "/v0.9/customers/{customer_id}/virtual-accounts"): lambda o: None,
    ("GET", "/v0.9/virtual-accounts/{virtual_account_id}"): lambda o: None,
    ("PATCH", "/v0.9/virtual-accounts/{virtual_account_id}"): lambda o: {"status": "paused"},
    ("DELETE", "/v0.9/virtual-accounts/{virtual_account_id}"): lambda o: None,
    ("POST", "/v0.9/virtual-accounts/{virtual_account_id}/simulate"): lambda o: {"rail": "ach_in", "amount": "10.00"},
    ("POST", "/v0.9/customers/{customer_id}/deposit-addresses"): lambda o: {
        "source": {"asset": "usdc", "network": "polygon"},
        "destination": FUNDING_TARGET,
    },
    ("GET", "/v0.9/customers/{customer_id}/deposit-addresses"): lambda o: None,
    ("GET", "/v0.9/deposit-addresses/{deposit_address_id}"): lambda o: None,
    ("PATCH", "/v0.9/deposit-addresses/{deposit_address_id}"): lambda o: {"status": "paused"},
    ("DELETE", "/v0.9/deposit-addresses/{deposit_address_id}"): lambda o: None,
    ("POST", "/v0.9/deposit-addresses/{deposit_address_id}/simulate"): lambda o: {"amount": {"value": "1.00"}},
    ("POST", "/v0.9/sandbox/fund"): lambda o: {"address": o["wallet_address"], "amount": "1.00"},
    ("GET", "/v0.9/sandbox/clock"): lambda o: None,
    ("POST", "/v0.9/sandbox/clock/advance"): lambda o: {"seconds": 60},
    ("POST", "/v0.9/cash-ins/simulate/barcode-auth"): lambda o: o["barcode_auth_body"],
    ("POST", "/v0.9/cash-ins/simulate/auth-commit"): lambda o: o["auth_commit_body"],
}

# What a key holding only the scope gets where a 2xx needs more than a request (not 403 all the same).
BUSINESS_ANSWER = {
    ("POST", "/v0.9/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"): 409,  # still pending: not failed yet
}


def _scope_of(operation: dict[str, Any]) -> str:
    [requirement] = operation["security"]
    [scope] = requirement["bearerAuth"]
    return str(scope)


def test_every_operation_declares_exactly_one_known_scope() -> None:
    assert "security" not in DOCUMENT["paths"]["/v0.9/auth/token"]["post"]
    for method, path, operation in OPERATIONS:
        assert list(operation["security"][0]) == ["bearerAuth"] and len(operation["security"]) == 1, (method, path)
        assert len(operation["security"][0]["bearerAuth"]) == 1, (method, path)
        scope = _scope_of(operation)
        assert scope in FULL, (method, path)
        assert f"Needs an API key with the scope `{scope}`" in operation["description"], (method, path)
        assert "403" in operation["responses"], (method, path)
        if method == "GET":
            assert scope == Scope.READ, (method, path)
        else:
            assert scope != Scope.READ, (method, path)


def test_every_operation_is_in_the_matrix() -> None:
    assert {(method, path) for method, path, _ in OPERATIONS} == set(MATRIX)


def test_a_refusal_is_documented_with_its_example() -> None:
    refused = DOCUMENT["paths"]["/v0.9/customers"]["get"]["responses"]["403"]
    example = refused["content"]["application/json"]["example"]["error"]
    assert (example["type"], example["code"]) == ("permission_error", "insufficient_scope")
    assert example["message"] == "This API key lacks the scope read."


async def key_of(client: httpx.AsyncClient, ctx: AppContext, tenant: str, granted: frozenset[str]) -> Api:
    issued = await create_key(ctx, tenant=tenant, scopes=granted)
    return Api(client, await exchange(client, issued), issued)


@pytest.fixture
async def owned(client: httpx.AsyncClient, ctx: AppContext, clock: OffsetClock) -> Owned:
    """One of each resource of a new tenant (made with a full key), keyed by its path parameter name, and the
    bodies that need them."""
    tenant = f"scopes-{uuid.uuid4().hex}"
    api = await key_of(client, ctx, tenant, FULL)
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    await fund(api, wallet, "5.00")
    await settle(ctx, clock, rounds=4)
    executed = (await quote(api, customer, wallet, to=TO_ADDRESS, amount="1.00")).json()
    transaction = (await api.post("/transactions", {"quoteId": executed["id"]})).json()
    offer = await quote(api, customer, wallet, to=TO_ADDRESS, amount="1.00")
    webhook = (await api.post("/webhooks", {"url": "http://127.0.0.1:9/hooks"})).json()
    delivery = (await api.post(f"/webhooks/{webhook['id']}/test")).json()
    place = await location(api, "CVS")
    deposit = await cash_in(api, customer, wallet, place)
    authorised = await barcode_auth(api, deposit["depositInstructions"]["code"], "20.00")
    to_wallet = {"asset": "usdc", "network": "polygon", "wallet": {"id": wallet["id"]}}
    account = (await api.post(f"/customers/{customer['id']}/virtual-accounts", {"destination": to_wallet})).json()
    address_body = {"source": {"asset": "usdc", "network": "polygon"}, "destination": to_wallet}
    address = (await api.post(f"/customers/{customer['id']}/deposit-addresses", address_body)).json()
    second = await cash_in(api, customer, wallet, place)
    return {
        "tenant": tenant,
        "customer_id": customer["id"],
        "wallet_id": wallet["id"],
        "wallet_address": wallet["address"],
        "quote_id": executed["id"],
        "open_quote_id": offer.json()["id"],
        "transaction_id": transaction["id"],
        "webhook_id": webhook["id"],
        "delivery_id": delivery["id"],
        "event_id": delivery["eventId"],
        "cash_in_id": deposit["id"],
        "virtual_account_id": account["id"],
        "deposit_address_id": address["id"],
        "quote_body": {
            "customerId": customer["id"],
            "source": {"walletId": wallet["id"], "asset": "usdc", "network": "polygon", "amount": "1.00"},
            "destination": {"asset": "usdc", "network": "polygon", "wallet": {"blockchainAddress": TO_ADDRESS}},
        },
        "cash_in_body": {
            "customerId": customer["id"],
            "source": {"asset": "usd", "network": "cash"},
            "destination": {"asset": "usdc", "network": "polygon", "wallet": {"id": wallet["id"]}},
            "cash": {"locationId": place["id"], "locationReference": place["locationReference"]},
        },
        "barcode_auth_body": {
            "accountNumber": second["depositInstructions"]["code"],
            "accountReferenceNumber": "store-1/lane-2",
            "amount": "20.00",
        },
        "auth_commit_body": {
            "accountNumber": deposit["depositInstructions"]["code"],
            "accountReferenceNumber": "store-1/lane-2",
            "amount": "20.00",
            "originalConfirmationId": authorised.json()["confirmationId"],
        },
    }


async def _send(api: Api, method: str, template: str, owned: Owned) -> httpx.Response:
    path = template.removeprefix("/v0.9").format(**owned)
    payload = MATRIX[(method, template)](owned)
    if method == "GET":
        return await api.get(path, **(payload or {}))
    if method == "DELETE":
        return await api.client.delete(path, headers=api.headers())
    if method == "PATCH":
        return await api.patch(path, payload)
    return await api.post(path, payload)


@pytest.mark.parametrize(("method", "template"), [(method, path) for method, path, _ in OPERATIONS])
async def test_a_key_is_held_to_the_scope_each_operation_declares(
    owned: Owned, client: httpx.AsyncClient, ctx: AppContext, method: str, template: str
) -> None:
    scope = _scope_of(DOCUMENT["paths"][template][method.lower()])
    lacking = await key_of(client, ctx, owned["tenant"], FULL - {scope})
    response = await _send(lacking, method, template, owned)
    assert_error(response, 403, "insufficient_scope")
    assert response.json()["error"]["message"] == f"This API key lacks the scope {scope}."

    holding = await key_of(client, ctx, owned["tenant"], frozenset({scope}))
    response = await _send(holding, method, template, owned)
    expected = BUSINESS_ANSWER.get((method, template))
    if expected is None:
        assert 200 <= response.status_code < 300, (method, template, response.text)
    else:
        assert response.status_code == expected, (method, template, response.text)


async def test_a_refused_request_claims_no_idempotency_key(owned: Owned, client, ctx) -> None:  # type: ignore[no-untyped-def]
    reader = await key_of(client, ctx, owned["tenant"], scopes.READ_ONLY)
    refused = await reader.post("/customers", {}, key="scoped-once")
    assert_error(refused, 403, "insufficient_scope")
    writer = await key_of(client, ctx, owned["tenant"], frozenset({Scope.CUSTOMERS_WRITE}))
    assert (await writer.post("/customers", {}, key="scoped-once")).status_code == 201


async def test_changing_a_keys_scopes_counts_from_its_next_request(owned: Owned, client, ctx) -> None:  # type: ignore[no-untyped-def]
    api = await key_of(client, ctx, owned["tenant"], scopes.READ_ONLY)
    assert (await api.get("/customers")).status_code == 200
    async with ctx.db.session_scope() as session:
        assert await ctx.auth.set_scopes(session, api.issued.key_id, {Scope.CUSTOMERS_WRITE})
    assert_error(await api.get("/customers"), 403, "insufficient_scope")
    assert (await api.post("/customers", {})).status_code == 201
