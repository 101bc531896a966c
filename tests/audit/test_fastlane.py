"""The fast lane records what it answers itself (new quotes, executions) in its batch's transaction: the same
record the endpoint would write, one lock of the chain head and one insert per batch."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from oms.app import fast_lane_services
from oms.audit import service as audit
from oms.context import AppContext
from oms.fastlane import FastLane
from oms.middleware import RequestContextMiddleware
from oms.responses import JSONResponse
from tests.audit.support import of_request
from tests.support import Api, OffsetClock, funded_wallet

PASSED_ON = 299


@pytest.fixture(autouse=True)
def postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("the fast lane serves on PostgreSQL only")


@pytest.fixture
async def hot_only(ctx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    """The fast lane in front of a stand-in answering 299: what it answers itself is plain to see."""

    async def regular_endpoints(scope: Scope, receive: Receive, send: Send) -> None:
        await JSONResponse({"passedOn": scope["path"]}, status_code=PASSED_ON)(scope, receive, send)

    app = RequestContextMiddleware(
        FastLane(regular_endpoints, services=fast_lane_services(ctx)), max_body_bytes=1 << 20
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oms.test/v0.9") as client:
        yield client


def _quote_body(customer: dict[str, Any], wallet: dict[str, Any], payee: dict[str, Any]) -> dict[str, Any]:
    return {
        "customerId": customer["id"],
        "source": {"walletId": wallet["id"], "asset": "usdc", "network": "polygon", "amount": "1.00"},
        "destination": {"asset": "usdc", "network": "polygon", "wallet": {"id": payee["id"]}},
    }


async def test_the_fast_lane_records_the_quotes_and_executions_it_answers(
    api: Api, ctx: AppContext, clock: OffsetClock, hot_only: httpx.AsyncClient
) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock, "10.00")
    _, payee = await funded_wallet(api, ctx, clock, "1.00")

    async def post(path: str, body: Any) -> httpx.Response:
        headers = api.headers({"Idempotency-Key": str(uuid.uuid4())})
        response = await hot_only.post(path, json=body, headers=headers)
        assert response.status_code == 201, response.text
        return response

    # concurrent requests: one batch, one lock of the head, several records
    offers = await asyncio.gather(*(post("/quotes", _quote_body(customer, wallet, payee)) for _ in range(4)))
    executions = await asyncio.gather(*(post("/transactions", {"quoteId": o.json()["id"]}) for o in offers))
    for response, action in [(o, "POST /v0.9/quotes") for o in offers] + [
        (e, "POST /v0.9/transactions") for e in executions
    ]:
        [record] = await of_request(ctx, response.headers["request-id"])
        assert record["actor"] == {"kind": "api_key", "id": api.issued.key_id}
        assert (record["tenantId"], record["action"], record["objectId"]) == (
            api.tenant_id,
            action,
            response.json()["id"],
        )
        assert (record["outcome"], record["status"], record["clientAddress"]) == ("succeeded", 201, "127.0.0.1")
    async with ctx.db.session_scope(write=False) as session:
        assert (await audit.verify(session)).sound
