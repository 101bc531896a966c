"""Idempotency-Key: replay, conflicts and concurrency, stored with the effect."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import func, select

from oms.models import Customer, IdempotencyRecord
from tests.support import Api, assert_error, create_customer


async def count_customers(ctx, tenant_id: str) -> int:  # type: ignore[no-untyped-def]
    async with ctx.db.session_scope(write=False) as session:
        return int(await session.scalar(select(func.count()).where(Customer.tenant_id == tenant_id)) or 0)


async def test_replay_is_byte_identical_and_marked(api: Api, ctx) -> None:
    first = await api.post("/customers", {"email": "a@example.com"}, key="k-1")
    replay = await api.post("/customers", {"email": "a@example.com"}, key="k-1")
    assert first.status_code == replay.status_code == 201
    assert replay.content == first.content
    assert replay.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await count_customers(ctx, api.tenant_id) == 1


async def test_replay_has_its_own_request_id_and_names_the_original(api: Api) -> None:
    first = await api.post("/customers", {}, key="k-ids")
    replay = await api.post("/customers", {}, key="k-ids")
    assert replay.content == first.content
    assert replay.headers["request-id"].startswith("req_")
    assert replay.headers["request-id"] != first.headers["request-id"]
    assert replay.headers["original-request"] == first.headers["request-id"]
    assert "original-request" not in first.headers


async def test_replayed_error_keeps_the_original_request_id_in_its_body(api: Api) -> None:
    customer = await create_customer(api)
    path = f"/customers/{customer['id']}/wallets"
    await api.post(path, {"asset": "usdc", "chain": "polygon"})
    first = await api.post(path, {"asset": "usdc", "chain": "polygon"}, key="dup-ids")
    replay = await api.post(path, {"asset": "usdc", "chain": "polygon"}, key="dup-ids")
    assert replay.content == first.content
    assert replay.json()["error"]["requestId"] == first.headers["request-id"] == replay.headers["original-request"]
    assert replay.headers["request-id"] != first.headers["request-id"]


async def test_replay_ignores_json_formatting_differences(api: Api) -> None:
    headers = api.headers({"Idempotency-Key": "k-fmt", "Content-Type": "application/json"})
    first = await api.client.post("/customers", content=b'{"email":"a@example.com","externalId":"1"}', headers=headers)
    again = await api.client.post(
        "/customers", content=b'{ "externalId": "1",\n "email": "a@example.com" }', headers=headers
    )
    assert again.headers.get("idempotent-replayed") == "true" and again.content == first.content


async def test_same_key_with_a_different_body_is_422_and_creates_nothing(api: Api, ctx) -> None:
    await api.post("/customers", {"email": "a@example.com"}, key="k-2")
    response = await api.post("/customers", {"email": "b@example.com"}, key="k-2")
    assert_error(response, 422, "idempotency_key_reused", param="Idempotency-Key")
    assert await count_customers(ctx, api.tenant_id) == 1


async def test_same_key_on_another_path_is_422(api: Api) -> None:
    customer = await create_customer(api)
    response = await api.post(f"/customers/{customer['id']}/wallets", {"asset": "usdc", "chain": "polygon"}, key="same")
    assert response.status_code == 201
    assert_error(await api.post("/customers", {}, key="same"), 422, "idempotency_key_reused")


async def test_keys_are_scoped_to_the_tenant(api: Api, other_api: Api) -> None:
    mine = await api.post("/customers", {}, key="shared-key")
    theirs = await other_api.post("/customers", {}, key="shared-key")
    assert theirs.status_code == 201 and "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != mine.json()["id"]


async def test_missing_key_on_post_is_400(api: Api) -> None:
    response = await api.client.post("/customers", json={}, headers=api.headers())
    assert_error(response, 400, "idempotency_key_missing", param="Idempotency-Key")


async def test_business_errors_are_replayed(api: Api) -> None:
    customer = await create_customer(api)
    path = f"/customers/{customer['id']}/wallets"
    await api.post(path, {"asset": "usdc", "chain": "polygon"})
    first = await api.post(path, {"asset": "usdc", "chain": "polygon"}, key="dup")
    again = await api.post(path, {"asset": "usdc", "chain": "polygon"}, key="dup")
    assert first.status_code == again.status_code == 409
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"


async def test_validation_errors_are_not_stored(api: Api) -> None:
    assert_error(await api.post("/customers", {"email": "nope"}, key="fixable"), 400, "parameter_invalid")
    fixed = await api.post("/customers", {"email": "ok@example.com"}, key="fixable")
    assert fixed.status_code == 201


async def test_twenty_concurrent_requests_with_one_key_create_one_customer(api: Api, ctx) -> None:
    responses = await asyncio.gather(*(api.post("/customers", {"externalId": "race"}, key="race") for _ in range(20)))
    created = [r for r in responses if r.status_code == 201]
    assert created, [r.text for r in responses]
    assert {r.status_code for r in responses} <= {201, 409}
    assert len({json.loads(r.content)["id"] for r in created}) == 1
    for conflict in (r for r in responses if r.status_code == 409):
        assert_error(conflict, 409, "idempotency_key_in_use")
    assert await count_customers(ctx, api.tenant_id) == 1


async def test_an_expired_key_may_be_reused(api: Api, ctx, clock) -> None:
    first = await api.post("/customers", {}, key="old")
    clock.advance(hours=24, seconds=1)
    api.token = (
        await api.client.post("/auth/token", json={"apiKey": api.issued.key_id, "apiSecret": api.issued.secret})
    ).json()["accessToken"]
    second = await api.post("/customers", {}, key="old")
    assert second.status_code == 201 and second.json()["id"] != first.json()["id"]


async def test_stored_answers_are_sealed_at_rest(api: Api, ctx) -> None:
    # Some answers carry a secret shown once (a webhook's signing secret): none is readable in the table.
    created = await api.post("/webhooks", {"url": "http://127.0.0.1:9/hook"}, key="sealed")
    secret = created.json()["secret"]
    async with ctx.db.session_scope(write=False) as session:
        record = await session.get(IdempotencyRecord, (api.tenant_id, "sealed"))
    assert record is not None and secret.encode() not in record.response_body
    assert created.json()["id"].encode() not in record.response_body
    replay = await api.post("/webhooks", {"url": "http://127.0.0.1:9/hook"}, key="sealed")
    assert replay.content == created.content
