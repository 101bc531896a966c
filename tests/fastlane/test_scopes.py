"""The fast lane holds a key to the scope of the route it answers, with the endpoints' rule
(``oms.auth.scopes.covers``), from the key's row its one read already joins: a key with the scope is served
there, a key without it (or an expired one) passes to the endpoint, which answers 403 (or 401)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from starlette.types import Receive, Scope, Send

from oms.app import fast_lane_services
from oms.auth.scopes import FULL
from oms.auth.scopes import Scope as KeyScope
from oms.context import AppContext
from oms.fastlane import FastLane
from oms.middleware import RequestContextMiddleware
from oms.models import ApiKey, Tenant
from oms.responses import JSONResponse
from tests.support import Api, OffsetClock, create_customer, create_key, create_wallet, exchange, fund, settle

BASE_URL = "http://oms.test/v0.9"
PASSED_ON = 299  # what the stand-in for the regular endpoints answers


@pytest.fixture(autouse=True)
def postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("the fast lane serves on PostgreSQL only; on SQLite every request takes the regular endpoint")


@pytest.fixture
async def hot_only(ctx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    """The fast lane in front of a stand-in that answers 299: a request it passes on is plain to see."""

    async def regular_endpoints(scope: Scope, receive: Receive, send: Send) -> None:
        await JSONResponse({"passedOn": scope["path"]}, status_code=PASSED_ON)(scope, receive, send)

    app = RequestContextMiddleware(
        FastLane(regular_endpoints, services=fast_lane_services(ctx)), max_body_bytes=1 << 20
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        yield client


@pytest.fixture
async def funded(api: Api, ctx: AppContext, clock: OffsetClock) -> dict[str, Any]:
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    # An OMS wallet as the destination: an external one is screened, so the lane passes it on (docs/decisions.md).
    recipient = await create_wallet(api, (await create_customer(api))["id"])
    await fund(api, wallet, "10.00")
    await settle(ctx, clock)
    async with ctx.db.session_scope(write=False) as session:
        tenant = await session.get(Tenant, api.tenant_id)
    assert tenant is not None
    return {"customer": customer, "wallet": wallet, "tenant": tenant.name, "recipient": recipient}


async def _key(client: httpx.AsyncClient, ctx: AppContext, funded: dict[str, Any], granted: frozenset[str]) -> Api:
    issued = await create_key(ctx, tenant=funded["tenant"], scopes=granted)
    return Api(client, await exchange(client, issued), issued)


async def _requests(key: Api, hot_only: httpx.AsyncClient, funded: dict[str, Any], quote_id: str) -> list[int]:
    """The lane's three routes as ``key``: the balance read, a new quote, the execution of ``quote_id``."""
    wallet = funded["wallet"]
    body = {
        "customerId": funded["customer"]["id"],
        "source": {"walletId": wallet["id"], "asset": "usdc", "network": "polygon", "amount": "1.00"},
        "destination": {"asset": "usdc", "network": "polygon", "wallet": {"id": funded["recipient"]["id"]}},
    }
    read = await hot_only.get(f"/wallets/{wallet['id']}/balance", headers=key.headers())
    created = await hot_only.post("/quotes", json=body, headers=key.headers({"Idempotency-Key": quote_id + "-q"}))
    executed = await hot_only.post(
        "/transactions", json={"quoteId": quote_id}, headers=key.headers({"Idempotency-Key": quote_id + "-t"})
    )
    return [read.status_code, created.status_code, executed.status_code]


async def _open_quote(api: Api, funded: dict[str, Any]) -> str:
    wallet = funded["wallet"]
    body = {
        "customerId": funded["customer"]["id"],
        "source": {"walletId": wallet["id"], "asset": "usdc", "network": "polygon", "amount": "1.00"},
        "destination": {"asset": "usdc", "network": "polygon", "wallet": {"id": funded["recipient"]["id"]}},
    }
    response = await api.post("/quotes", body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_a_key_with_each_routes_scope_is_served_in_the_lane(
    api: Api, client: httpx.AsyncClient, ctx: AppContext, hot_only: httpx.AsyncClient, funded: dict[str, Any]
) -> None:
    reader = await _key(client, ctx, funded, frozenset({KeyScope.READ}))
    mover = await _key(client, ctx, funded, frozenset({KeyScope.MONEY_WRITE}))
    assert (await _requests(reader, hot_only, funded, await _open_quote(api, funded)))[0] == 200
    assert (await _requests(mover, hot_only, funded, await _open_quote(api, funded)))[1:] == [201, 201]


async def test_a_key_without_the_scope_passes_to_the_endpoint(
    api: Api, client: httpx.AsyncClient, ctx: AppContext, hot_only: httpx.AsyncClient, funded: dict[str, Any]
) -> None:
    no_read = await _key(client, ctx, funded, FULL - {KeyScope.READ})
    no_money = await _key(client, ctx, funded, FULL - {KeyScope.MONEY_WRITE})
    assert (await _requests(no_read, hot_only, funded, await _open_quote(api, funded)))[0] == PASSED_ON
    assert (await _requests(no_money, hot_only, funded, await _open_quote(api, funded)))[1:] == [PASSED_ON] * 2


async def test_a_change_of_scopes_counts_in_the_lane_at_once(
    api: Api, client: httpx.AsyncClient, ctx: AppContext, hot_only: httpx.AsyncClient, funded: dict[str, Any]
) -> None:
    key = await _key(client, ctx, funded, FULL)
    assert await _requests(key, hot_only, funded, await _open_quote(api, funded)) == [200, 201, 201]
    async with ctx.db.session_scope() as session:
        assert await ctx.auth.set_scopes(session, key.issued.key_id, {KeyScope.CUSTOMERS_WRITE})
    assert await _requests(key, hot_only, funded, await _open_quote(api, funded)) == [PASSED_ON] * 3
    # and the regular endpoints, behind the lane in the app, answer why
    response = await key.get(f"/wallets/{funded['wallet']['id']}/balance")
    assert response.status_code == 403 and response.json()["error"]["code"] == "insufficient_scope"


async def test_an_expired_key_passes_to_the_endpoint(
    api: Api, client: httpx.AsyncClient, ctx: AppContext, hot_only: httpx.AsyncClient, funded: dict[str, Any]
) -> None:
    key = await _key(client, ctx, funded, FULL)
    async with ctx.db.session_scope() as session:  # its token is still valid: the lane's read finds no live key
        await session.execute(update(ApiKey).where(ApiKey.id == key.issued.key_id).values(expires_at=ctx.clock.now()))
    assert await _requests(key, hot_only, funded, await _open_quote(api, funded)) == [PASSED_ON] * 3


async def test_a_transfer_to_an_external_address_passes_to_the_endpoint_which_screens_it(
    api: Api, hot_only: httpx.AsyncClient, funded: dict[str, Any]
) -> None:
    wallet = funded["wallet"]
    body = {
        "customerId": funded["customer"]["id"],
        "source": {"walletId": wallet["id"], "asset": "usdc", "network": "polygon", "amount": "1.00"},
        "destination": {"asset": "usdc", "network": "polygon", "wallet": {"blockchainAddress": "0x" + "22" * 20}},
    }
    created = await hot_only.post("/quotes", json=body, headers=api.headers({"Idempotency-Key": "external-q"}))
    assert created.status_code == PASSED_ON
    external = await api.post("/quotes", body)
    assert external.status_code == 201, external.text
    executed = await hot_only.post(
        "/transactions", json={"quoteId": external.json()["id"]}, headers=api.headers({"Idempotency-Key": "external-t"})
    )
    assert executed.status_code == PASSED_ON
