"""Scoped API keys: every operation of the OpenAPI document declares the one scope it needs, and a key is held to it.

The matrix is generated from the document (``app.openapi()``): for each operation, a key holding every scope but
the declared one is refused (403 ``insufficient_scope`` naming it) and a key holding only that scope is served.
A route added without its scope, or without its case here (or in tests/routes.py, ``ID_ROUTES``, if it takes an id),
fails ``test_every_operation_is_in_the_matrix``.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest

from oms.app import create_app
from oms.auth import scopes
from oms.auth.schemas import Grant, ScopeName
from oms.auth.scopes import FULL, Scope
from oms.context import AppContext
from tests.funding.support import barcode_auth, cash_in
from tests.routes import ID_ROUTES, TO_ADDRESS, one_of_each, send
from tests.support import Api, OffsetClock, assert_error, new_api, quote, sandbox_settings

TOKEN_EXCHANGE = ("POST", "/v0.9/auth/token")
NYC = {"latitude": 40.7128, "longitude": -74.0060}

Owned = dict[str, Any]
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

# Each operation without an id in its path (those are tests.routes.ID_ROUTES): its body (POST, PATCH) or
# query (GET) for a 2xx, from what the tenant owns.
MATRIX: dict[tuple[str, str], Case] = {
    ("POST", "/v0.9/customers"): lambda o: {},
    ("GET", "/v0.9/customers"): lambda o: None,
    ("POST", "/v0.9/quotes"): lambda o: o["quote_body"],
    ("POST", "/v0.9/transactions"): lambda o: {"quoteId": o["open_quote_id"]},
    ("GET", "/v0.9/transactions"): lambda o: None,
    ("POST", "/v0.9/webhooks"): lambda o: {"url": "http://127.0.0.1:9/other-hooks"},
    ("GET", "/v0.9/webhooks"): lambda o: None,
    ("GET", "/v0.9/events"): lambda o: None,
    ("GET", "/v0.9/cash-locations"): lambda o: {"provider": "greendot", "flow": "cashIn", "radius": 100, **NYC},
    ("POST", "/v0.9/cash-ins"): lambda o: o["cash_in_body"],
    ("GET", "/v0.9/cash-ins"): lambda o: None,
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
    assert not set(MATRIX) & set(ID_ROUTES)
    assert {(method, path) for method, path, _ in OPERATIONS} == set(MATRIX) | set(ID_ROUTES)


def test_a_refusal_is_documented_with_its_example() -> None:
    refused = DOCUMENT["paths"]["/v0.9/customers"]["get"]["responses"]["403"]
    example = refused["content"]["application/json"]["example"]["error"]
    assert (example["type"], example["code"]) == ("permission_error", "insufficient_scope")
    assert example["message"] == "This API key lacks the scope read."


async def key_of(client: httpx.AsyncClient, ctx: AppContext, tenant: str, granted: frozenset[str]) -> Api:
    return await new_api(client, ctx, tenant=tenant, scopes=granted)


@pytest.fixture
async def owned(client: httpx.AsyncClient, ctx: AppContext, clock: OffsetClock) -> Owned:
    """One of each resource of a new tenant (made with a full key; ``tests.routes.one_of_each``), keyed by its
    path parameter name, and the bodies that need them."""
    tenant = f"scopes-{uuid.uuid4().hex}"
    api = await key_of(client, ctx, tenant, FULL)
    made = await one_of_each(api, ctx, clock)
    customer, wallet, place = made.customer, made.wallet, made.place
    offer = await quote(api, customer, wallet, to=TO_ADDRESS, amount="1.00")
    authorised = await barcode_auth(api, made.cash_in["depositInstructions"]["code"], "20.00")
    second = await cash_in(api, customer, wallet, place)
    return {
        **made.ids,
        "tenant": tenant,
        "wallet_address": wallet["address"],
        "open_quote_id": offer.json()["id"],
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
            "accountNumber": made.cash_in["depositInstructions"]["code"],
            "accountReferenceNumber": "store-1/lane-2",
            "amount": "20.00",
            "originalConfirmationId": authorised.json()["confirmationId"],
        },
    }


async def _send(api: Api, method: str, template: str, owned: Owned) -> httpx.Response:
    route = (method, template)
    payload = ID_ROUTES[route] if route in ID_ROUTES else MATRIX[route](owned)
    return await send(api, method, template, owned, payload)


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


def test_the_documented_scope_names_are_exactly_the_scopes_that_exist() -> None:
    """The OpenAPI document names the scopes with a Literal (an enum in the schema): it must follow ``Scope``."""
    assert set(get_args(ScopeName)) == set(Scope)
    assert set(get_args(Grant)) == set(Scope) | set(scopes.PRESETS)
