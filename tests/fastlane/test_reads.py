"""The fast lane's read (oms/fastlane/reads.py) answers balance reads exactly as the regular endpoint does.

It serves on PostgreSQL only; every request it does not serve reaches the regular endpoint untouched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.types import Receive, Scope, Send

from oms.app import create_app, fast_lane_services
from oms.auth import repository as keys
from oms.config import Settings
from oms.context import AppContext
from oms.fastlane import FastLane
from tests.support import Api, OffsetClock, create_customer, create_wallet, fund, quote, settle

BASE_URL = "http://oms.test/v0.9"


def _client(app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


@pytest.fixture
async def regular(settings: Settings, ctx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    """The same server without the hot path: every balance read goes through the regular endpoint."""
    async with _client(create_app(settings.model_copy(update={"hot_reads": False}), ctx=ctx)) as client:
        yield client


@pytest.fixture
async def hot_only(ctx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    """The hot path in front of nothing: a request it does not serve fails the test."""

    async def no_regular_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError(f"the hot path passed {scope['path']} on")

    async with _client(FastLane(no_regular_endpoint, services=fast_lane_services(ctx))) as client:
        yield client


@pytest.fixture
async def wallet_in_motion(api: Api, ctx: AppContext, clock: OffsetClock) -> dict[str, Any]:
    """A wallet with money available, held for a transfer and pending from a deposit."""
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    await fund(api, wallet, "25.00")
    await settle(ctx, clock)
    offer = (await quote(api, customer, wallet, to="0x" + "ab" * 20, amount="4.00")).json()
    assert (await api.post("/transactions", {"quoteId": offer["id"]})).status_code == 201
    await fund(api, wallet, "3.00")
    for chain in ctx.chains.all():
        await chain.mine(1)  # type: ignore[attr-defined]
    await ctx.deposits.run_once()  # seen, not yet final
    return wallet


def _answer(response: httpx.Response) -> tuple[int, str, Any]:
    body = response.json()
    if isinstance(body.get("error"), dict):
        body["error"].pop("requestId", None)
    return response.status_code, response.headers["content-type"], body


async def test_hot_path_serves_a_balance_read_on_its_own(
    api: Api, hot_only: httpx.AsyncClient, wallet_in_motion: dict[str, Any], is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("the hot path serves on PostgreSQL only; on SQLite every read takes the regular endpoint")
    response = await hot_only.get(f"/wallets/{wallet_in_motion['id']}/balance", headers=api.headers())
    assert response.status_code == 200
    body = response.json()
    assert (body["balance"], body["available"], body["pending"]) == ("25.00", "21.00", "3.00")


@pytest.mark.parametrize("query", [{}, {"estimatedBalanceCurrencyCode": "usd"}])
async def test_hot_and_regular_balances_are_byte_identical(
    api: Api, regular: httpx.AsyncClient, wallet_in_motion: dict[str, Any], query: dict[str, str]
) -> None:
    path = f"/wallets/{wallet_in_motion['id']}/balance"
    hot = await api.client.get(path, params=query, headers=api.headers())
    plain = await regular.get(path, params=query, headers=api.headers())
    assert hot.status_code == plain.status_code == 200
    assert hot.headers["content-type"] == plain.headers["content-type"]
    assert hot.content == plain.content
    assert (hot.json()["available"], hot.json()["pending"]) == ("21.00", "3.00")


UNSERVED: dict[str, tuple[int, Callable[[Api, str], tuple[str, dict[str, str]]]]] = {
    "no token": (401, lambda api, wallet: (f"/wallets/{wallet}/balance", {})),
    "a forged token": (
        401,
        lambda api, wallet: (f"/wallets/{wallet}/balance", {"Authorization": f"Bearer {api.token[:-4]}AAAA"}),
    ),
    "a basic scheme": (401, lambda api, wallet: (f"/wallets/{wallet}/balance", {"Authorization": "Basic eDp5"})),
    "an unknown wallet": (404, lambda api, _: ("/wallets/wlt_01h455vb4pex5vsknk084sn02q/balance", api.headers())),
    "a malformed wallet id": (404, lambda api, _: ("/wallets/not-a-wallet/balance", api.headers())),
    "an unknown parameter": (400, lambda api, wallet: (f"/wallets/{wallet}/balance?limit=1", api.headers())),
    "an unsupported currency": (
        400,
        lambda api, wallet: (f"/wallets/{wallet}/balance?estimatedBalanceCurrencyCode=XYZ", api.headers()),
    ),
    "a repeated parameter": (
        200,
        lambda api, wallet: (
            f"/wallets/{wallet}/balance?estimatedBalanceCurrencyCode=USD&estimatedBalanceCurrencyCode=usd",
            api.headers(),
        ),
    ),
}


@pytest.mark.parametrize("case", list(UNSERVED))
async def test_requests_the_hot_path_does_not_serve_get_the_regular_answer(
    api: Api, regular: httpx.AsyncClient, wallet_in_motion: dict[str, Any], case: str
) -> None:
    status, request = UNSERVED[case]
    path, headers = request(api, wallet_in_motion["id"])
    hot = await api.client.get(path, headers=headers)
    assert _answer(hot) == _answer(await regular.get(path, headers=headers))
    assert hot.status_code == status


async def test_another_tenants_wallet_is_404_on_the_hot_path(
    api: Api, other_api: Api, wallet_in_motion: dict[str, Any]
) -> None:
    response = await other_api.get(f"/wallets/{wallet_in_motion['id']}/balance")
    assert _answer(response)[0] == 404 and response.json()["error"]["code"] == "resource_missing"


async def test_a_revoked_keys_token_stops_reading_balances_at_once(
    api: Api, ctx: AppContext, wallet_in_motion: dict[str, Any]
) -> None:
    path = f"/wallets/{wallet_in_motion['id']}/balance"
    assert (await api.get(path)).status_code == 200
    async with ctx.db.session_scope() as session:
        assert await keys.revoke_key(session, api.issued.key_id, ctx.clock.now())
    response = await api.get(path)
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_token"


async def test_a_broken_hot_pool_hands_the_read_to_the_regular_endpoint(
    api: Api, ctx: AppContext, wallet_in_motion: dict[str, Any], is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("the hot pool exists on PostgreSQL only")
    working = ctx.db.hot_pool
    assert working is not None
    broken = await asyncpg.create_pool(ctx.settings.database_url, min_size=0, max_size=1)
    await broken.close()  # every use now raises InterfaceError, as a pool that lost its server does
    ctx.db.hot_pool = broken
    try:
        response = await api.get(f"/wallets/{wallet_in_motion['id']}/balance")
    finally:
        ctx.db.hot_pool = working
    assert response.status_code == 200 and response.json()["available"] == "21.00"
