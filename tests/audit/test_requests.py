"""Every state-changing request is recorded in the audit log, in the transaction of its change: who (the API
key), on which tenant and object, the route, the request's id, the client's address, when, and the outcome."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from oms.context import AppContext
from tests.audit.support import of_request, records
from tests.support import (
    FULL_IDENTITY,
    Api,
    OffsetClock,
    assert_error,
    create_customer,
    execute,
    funded_wallet,
    quote,
)


async def test_a_created_customer_is_recorded_with_its_key_tenant_and_id(api: Api, ctx: AppContext) -> None:
    before = ctx.clock.now()
    response = await api.post("/customers", FULL_IDENTITY)
    assert response.status_code == 201
    [record] = await of_request(ctx, response.headers["request-id"])
    assert record["actor"] == {"kind": "api_key", "id": api.issued.key_id}
    assert record["tenantId"] == api.tenant_id
    assert record["action"] == "POST /v0.9/customers"
    assert record["objectId"] == response.json()["id"]
    assert record["clientAddress"] == "127.0.0.1"
    assert (record["outcome"], record["status"], record["errorCode"]) == ("succeeded", 201, None)
    assert datetime.fromisoformat(record["createdAt"]) >= before
    # ids only: nothing of the customer's identity
    text_of_record = str(record)
    assert not any(str(value) in text_of_record for value in ("Ada", "Lovelace", "ada@example.com", "203.0.113.7"))


async def test_an_update_is_recorded_on_the_object_of_its_path(api: Api, ctx: AppContext) -> None:
    customer = await create_customer(api)
    response = await api.patch(f"/customers/{customer['id']}", {"metadata": {"tier": "gold"}})
    assert response.status_code == 200, response.text
    [record] = await of_request(ctx, response.headers["request-id"])
    assert (record["action"], record["objectId"]) == ("PATCH /v0.9/customers/{customer_id}", customer["id"])


async def test_a_refused_request_records_its_refusal(api: Api, ctx: AppContext) -> None:
    response = await api.post("/customers", {"firstName": "Ada"} | {"unknown": 1})
    assert_error(response, 400, "unknown_parameter")
    [record] = await of_request(ctx, response.headers["request-id"])
    assert (record["outcome"], record["status"], record["errorCode"]) == ("failed", 400, "unknown_parameter")
    assert record["actor"] == {"kind": "api_key", "id": api.issued.key_id}


async def test_a_rolled_back_request_records_its_refusal_and_no_success(
    api: Api, ctx: AppContext, clock: OffsetClock
) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock, "10.00")
    payee = {"id": (await funded_wallet(api, ctx, clock, "1.00"))[1]["id"]}
    first, second = [(await quote(api, customer, wallet, to=payee, amount="6.00")).json() for _ in range(2)]
    assert (await execute(api, first["id"])).status_code == 201
    overdrawn = await execute(api, second["id"])
    assert_error(overdrawn, 422, "insufficient_funds")
    [record] = await of_request(ctx, overdrawn.headers["request-id"])
    assert (record["action"], record["outcome"], record["status"]) == ("POST /v0.9/transactions", "failed", 422)
    assert record["errorCode"] == "insufficient_funds"


async def test_a_refused_token_exchange_is_recorded_without_an_actor(api: Api, ctx: AppContext) -> None:
    response = await api.client.post("/auth/token", json={"apiKey": api.issued.key_id, "apiSecret": "wrong"})
    assert_error(response, 401, "invalid_api_key")
    [record] = await of_request(ctx, response.headers["request-id"])
    assert record["actor"] == {"kind": "anonymous", "id": ""}
    assert (record["action"], record["status"], record["errorCode"]) == (
        "POST /v0.9/auth/token",
        401,
        "invalid_api_key",
    )


async def test_a_token_exchange_is_recorded_as_its_key(api: Api, ctx: AppContext) -> None:
    body = {"apiKey": api.issued.key_id, "apiSecret": api.issued.secret}
    response = await api.client.post("/auth/token", json=body)
    assert response.status_code == 200
    [record] = await of_request(ctx, response.headers["request-id"])
    assert record["actor"] == {"kind": "api_key", "id": api.issued.key_id}
    assert (record["tenantId"], record["outcome"]) == (api.tenant_id, "succeeded")
    assert api.issued.secret not in str(record) and response.json()["accessToken"] not in str(record)


async def test_an_idempotent_replay_is_not_recorded_again(api: Api, ctx: AppContext) -> None:
    key = str(uuid.uuid4())
    first = await api.post("/customers", FULL_IDENTITY, key=key)
    replay = await api.post("/customers", FULL_IDENTITY, key=key)
    assert replay.headers["idempotent-replayed"] == "true"
    assert len(await records(ctx, object_id=first.json()["id"])) == 1
    assert await of_request(ctx, replay.headers["request-id"]) == []


async def test_a_read_is_not_recorded(api: Api, ctx: AppContext) -> None:
    response = await api.get("/customers")
    assert response.status_code == 200
    assert await of_request(ctx, response.headers["request-id"]) == []


async def test_the_query_filters_and_pages_like_every_list(api: Api, ctx: AppContext) -> None:
    created = [(await create_customer(api))["id"] for _ in range(3)]
    mine = await records(ctx, tenant_id=api.tenant_id, action="POST /v0.9/customers")
    assert [record["objectId"] for record in mine] == created
    assert [record["objectId"] for record in await records(ctx, object_id=created[1])] == [created[1]]
    assert await records(ctx, tenant_id=api.tenant_id, outcome="failed") == []
    by_key = await records(ctx, actor_kind="api_key", actor_id=api.issued.key_id)
    assert {record["objectId"] for record in by_key} >= set(created)
    # newest first, one at a time, forwards then back
    from oms.audit import service as audit
    from oms.audit.repository import Filters
    from oms.kit.pagination import PageParams

    filters = Filters(tenant_id=api.tenant_id, action="POST /v0.9/customers")
    async with ctx.db.session_scope(write=False) as session:
        first = await audit.query(session, filters, PageParams(2, None, None, None, None))
        second = await audit.query(session, filters, PageParams(2, first["nextCursor"], None, None, None))
        back = await audit.query(session, filters, PageParams(2, None, second["previousCursor"], None, None))
        since = await audit.query(
            session, filters, PageParams(5, None, None, datetime.fromisoformat(mine[1]["createdAt"]), None)
        )
    assert [r["objectId"] for r in first["data"]] == [created[2], created[1]] and first["hasMore"]
    assert [r["objectId"] for r in second["data"]] == [created[0]] and not second["hasMore"]
    assert [r["objectId"] for r in back["data"]] == [created[2], created[1]]
    assert {r["objectId"] for r in since["data"]} >= {created[1], created[2]}


async def test_the_database_refuses_to_change_or_delete_a_record(api: Api, ctx: AppContext, is_postgres: bool) -> None:
    await create_customer(api)
    statements = ["UPDATE audit_records SET actor_id = 'someone else'", "DELETE FROM audit_records"]
    if is_postgres:
        statements.append("TRUNCATE audit_records")
    for statement in statements:
        async with ctx.db.session(write=True) as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(text(statement))
            await session.rollback()


async def test_a_refusal_on_a_hostile_path_is_recorded_as_far_as_an_id_can_be(api: Api, ctx: AppContext) -> None:
    response = await api.post(f"/customers/{'x' * 300}/wallets", {"asset": "usdc", "chain": "polygon"})
    assert response.status_code == 404
    [record] = await of_request(ctx, response.headers["request-id"])
    assert (record["objectId"], record["status"]) == ("x" * 255, 404)
