"""Webhook subscriptions through the API: create, read, update, delete, rotate, test-send, validation."""

from __future__ import annotations

import re

import pytest

from tests.support import Api, assert_error
from tests.webhook.support import create_webhook, delete

URL = "http://127.0.0.1:9/hooks"
SECRET = re.compile(r"^whsec_[0-9a-f]{64}$")


async def test_create_returns_the_secret_once(wapi: Api) -> None:
    created = await create_webhook(wapi, URL)
    assert created["id"].startswith("whk_") and created["object"] == "webhook"
    assert SECRET.match(created["secret"])
    assert created["events"] == [] and created["enabled"] is True and created["status"] == "active"
    assert created["complianceOnly"] is False and created["disabledReason"] is None
    fetched = (await wapi.get(f"/webhooks/{created['id']}")).json()
    assert "secret" not in fetched
    assert fetched == {k: v for k, v in created.items() if k != "secret"}
    listed = (await wapi.get("/webhooks")).json()
    assert [w["id"] for w in listed["data"]] == [created["id"]]
    assert "secret" not in listed["data"][0]


async def test_each_webhook_gets_its_own_secret(wapi: Api) -> None:
    first, second = await create_webhook(wapi, URL), await create_webhook(wapi, URL)
    assert first["secret"] != second["secret"]


async def test_create_replays_under_the_same_idempotency_key(wapi: Api) -> None:
    first = await wapi.post("/webhooks", {"url": URL}, key="hook-1")
    again = await wapi.post("/webhooks", {"url": URL}, key="hook-1")
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert len((await wapi.get("/webhooks")).json()["data"]) == 1


async def test_list_is_newest_first_and_paginated(wapi: Api) -> None:
    ids = [(await create_webhook(wapi, f"{URL}/{n}"))["id"] for n in range(3)]
    page = (await wapi.get("/webhooks", limit=2)).json()
    assert [w["id"] for w in page["data"]] == ids[::-1][:2] and page["hasMore"] is True
    rest = (await wapi.get("/webhooks", limit=2, startingAfter=page["nextCursor"])).json()
    assert [w["id"] for w in rest["data"]] == [ids[0]] and rest["hasMore"] is False


async def test_patch_changes_url_events_and_enabled_and_status_mirrors_enabled(wapi: Api) -> None:
    hook = await create_webhook(wapi, URL)
    path = f"/webhooks/{hook['id']}"
    updated = (await wapi.patch(path, {"url": URL + "/v2", "events": ["cashIn.*"], "enabled": False})).json()
    assert updated["url"] == URL + "/v2" and updated["events"] == ["cashIn.*"]
    assert updated["enabled"] is False and updated["status"] == "disabled"
    assert "secret" not in updated
    again = (await wapi.patch(path, {"enabled": True})).json()
    assert again["status"] == "active" and again["events"] == ["cashIn.*"] and again["url"] == URL + "/v2"
    assert again["updatedAt"] >= hook["updatedAt"]


async def test_created_disabled_is_status_disabled(wapi: Api) -> None:
    hook = await create_webhook(wapi, URL, enabled=False)
    assert hook["status"] == "disabled"


@pytest.mark.parametrize("field", ["complianceOnly", "secret", "status", "id"])
async def test_server_owned_fields_cannot_be_set(wapi: Api, field: str) -> None:
    value = "x" if field != "complianceOnly" else True
    assert_error(await wapi.post("/webhooks", {"url": URL, field: value}), 400, "unknown_parameter", field)
    hook = await create_webhook(wapi, URL)
    assert_error(await wapi.patch(f"/webhooks/{hook['id']}", {field: value}), 400, "unknown_parameter", field)


async def test_null_is_not_a_value_for_patch_fields(wapi: Api) -> None:
    hook = await create_webhook(wapi, URL)
    assert_error(await wapi.patch(f"/webhooks/{hook['id']}", {"url": None}), 400, "parameter_invalid", "url")


@pytest.mark.parametrize(
    "events",
    [
        [],
        ["transaction.cryptoToCrypto.completed"],
        ["transaction.*", "cashIn.*", "customer.endorsement.*", "wallet.depositDetected"],
        ["transaction.fiatToCrypto.*", "customer.*", "wallet.*"],
    ],
)
async def test_valid_event_lists_are_accepted(wapi: Api, events: list[str]) -> None:
    assert (await create_webhook(wapi, URL, events))["events"] == events


@pytest.mark.parametrize(
    "events",
    [
        ["transaction.cryptoToCrypto.complete"],  # typo
        ["foo.*"],  # not a family
        ["transaction*"],
        ["*"],
        ["transaction.*.completed"],
        ["cashIn.completed", "cashIn.completed"],
        ["webhook.test"],
        "cashIn.completed",
    ],
)
async def test_invalid_event_lists_are_400(wapi: Api, events: object) -> None:
    response = await wapi.post("/webhooks", {"url": URL, "events": events})
    assert_error(response, 400, "parameter_invalid", "events")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/x",
        "127.0.0.1/hooks",
        "http://user:pass@127.0.0.1/x",
        "http:///nohost",
        "http://127.0.0.1/x#frag",
        "http://169.254.169.254/latest/meta-data",  # link-local (cloud metadata) even in sandbox
        "http://[fe80::1]/x",
        "http://224.0.0.1/x",
        "http://0.0.0.0/x",
    ],
)
async def test_refused_urls_in_sandbox(wapi: Api, url: str) -> None:
    assert_error(await wapi.post("/webhooks", {"url": url}), 400, "url_not_allowed", "url")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/hooks", "http://localhost:3000/x", "https://127.0.0.1/x"])
async def test_sandbox_allows_local_development_urls(wapi: Api, url: str) -> None:
    assert (await create_webhook(wapi, url))["url"] == url


async def test_patch_checks_the_new_url(wapi: Api) -> None:
    hook = await create_webhook(wapi, URL)
    response = await wapi.patch(f"/webhooks/{hook['id']}", {"url": "http://169.254.169.254/"})
    assert_error(response, 400, "url_not_allowed", "url")


async def test_delete_removes_the_webhook(wapi: Api) -> None:
    hook = await create_webhook(wapi, URL)
    response = await delete(wapi, f"/webhooks/{hook['id']}")
    assert response.status_code == 200
    assert response.json() == {"id": hook["id"], "object": "webhook", "deleted": True}
    assert_error(await wapi.get(f"/webhooks/{hook['id']}"), 404, "resource_missing")
    assert (await wapi.get("/webhooks")).json()["data"] == []
    assert_error(await delete(wapi, f"/webhooks/{hook['id']}"), 404, "resource_missing")


@pytest.mark.parametrize("bad", ["whk_nope", "nope", "whk_01m87tz5d7ew6bgq3eh3jtk9nt"])
async def test_unknown_or_malformed_ids_are_404(wapi: Api, bad: str) -> None:
    assert_error(await wapi.get(f"/webhooks/{bad}"), 404, "resource_missing")


async def test_rotation_returns_a_new_secret_once(wapi: Api) -> None:
    hook = await create_webhook(wapi, URL)
    rotated = await wapi.post(f"/webhooks/{hook['id']}/rotate-secret", {"previousSecretExpiresIn": 3600})
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert SECRET.match(body["secret"]) and body["secret"] != hook["secret"]
    assert body["previousSecretExpiresAt"] is not None
    fetched = (await wapi.get(f"/webhooks/{hook['id']}")).json()
    assert "secret" not in fetched and fetched["previousSecretExpiresAt"] == body["previousSecretExpiresAt"]


async def test_rotation_window_is_bounded(wapi: Api) -> None:
    hook = await create_webhook(wapi, URL)
    path = f"/webhooks/{hook['id']}/rotate-secret"
    assert_error(await wapi.post(path, {"previousSecretExpiresIn": 8 * 86400}), 400, "parameter_invalid")
    assert_error(await wapi.post(path, {"previousSecretExpiresIn": -1}), 400, "parameter_invalid")
    assert (await wapi.post(path, {"previousSecretExpiresIn": 0})).json()["previousSecretExpiresAt"] is None


async def test_test_send_creates_a_pending_delivery(wapi: Api) -> None:
    hook = await create_webhook(wapi, URL)
    response = await wapi.post(f"/webhooks/{hook['id']}/test")
    assert response.status_code == 201, response.text
    delivery = response.json()
    assert delivery["id"].startswith("dlv_") and delivery["object"] == "webhookDelivery"
    assert delivery["eventType"] == "webhook.test" and delivery["status"] == "pending"
    assert delivery["webhookId"] == hook["id"] and delivery["attempts"] == []
    listed = (await wapi.get(f"/webhooks/{hook['id']}/deliveries")).json()["data"]
    assert [d["id"] for d in listed] == [delivery["id"]]
    fetched = (await wapi.get(f"/webhooks/{hook['id']}/deliveries/{delivery['id']}")).json()
    assert fetched == delivery


async def test_test_send_to_a_disabled_webhook_is_409(wapi: Api) -> None:
    hook = await create_webhook(wapi, URL, enabled=False)
    assert_error(await wapi.post(f"/webhooks/{hook['id']}/test"), 409, "webhook_disabled")


async def test_retrying_a_pending_delivery_is_409(wapi: Api) -> None:
    hook = await create_webhook(wapi, URL)
    delivery = (await wapi.post(f"/webhooks/{hook['id']}/test")).json()
    response = await wapi.post(f"/webhooks/{hook['id']}/deliveries/{delivery['id']}/retry")
    assert_error(response, 409, "delivery_pending")


async def test_a_delivery_is_only_found_under_its_own_webhook(wapi: Api) -> None:
    first, second = await create_webhook(wapi, URL), await create_webhook(wapi, URL)
    delivery = (await wapi.post(f"/webhooks/{first['id']}/test")).json()
    response = await wapi.get(f"/webhooks/{second['id']}/deliveries/{delivery['id']}")
    assert_error(response, 404, "resource_missing")


async def test_webhook_routes_need_authentication(wapi: Api) -> None:
    response = await wapi.client.get("/webhooks")
    assert_error(response, 401, "missing_token")
