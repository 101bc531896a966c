"""GET /events and GET /events/{id}: the tenant's event log, newest first, to replay from."""

from __future__ import annotations

import uuid

import pytest

from oms.context import AppContext
from tests.support import Api, assert_error, create_customer
from tests.webhook.support import emit


async def test_events_are_listed_newest_first_with_their_envelope(api: Api, ctx: AppContext) -> None:
    cash_in, wallet = f"cin_{uuid.uuid4().hex}", f"wlt_{uuid.uuid4().hex}"
    ids = [
        *await emit(ctx, api.tenant_id, "cashIn.processing", object_id=cash_in),
        *await emit(ctx, api.tenant_id, "cashIn.completed", object_id=cash_in),
        *await emit(ctx, api.tenant_id, "wallet.depositDetected", object_id=wallet),
    ]
    listed = (await api.get("/events")).json()
    assert [e["id"] for e in listed["data"]] == ids[::-1]
    first = listed["data"][-1]
    assert list(first) == ["id", "object", "type", "createdAt", "sequence", "data"]
    assert first["object"] == "event" and first["type"] == "cashIn.processing" and first["sequence"] == 1
    assert first["data"] == {"object": {"id": cash_in}}
    assert listed["data"][1]["sequence"] == 2  # the same object's next change


async def test_an_event_is_retrieved_by_id(api: Api, ctx: AppContext) -> None:
    [event_id] = await emit(ctx, api.tenant_id, "transaction.cryptoToCrypto.completed")
    event = (await api.get(f"/events/{event_id}")).json()
    assert event["id"] == event_id and event["type"] == "transaction.cryptoToCrypto.completed"


async def test_state_changes_are_in_the_log(api: Api) -> None:
    customer = await create_customer(api)
    listed = (await api.get("/events", objectId=customer["id"])).json()["data"]
    assert [e["type"] for e in listed] == ["customer.endorsement.granted"] * 3
    assert sorted(e["sequence"] for e in listed) == [1, 2, 3]


@pytest.mark.parametrize(
    ("type", "expected"),
    [
        ("cashIn.completed", ["cashIn.completed"]),
        ("cashIn.*", ["cashIn.completed", "cashIn.processing"]),
        ("transaction.*", ["transaction.fiatToCrypto.failed"]),
        ("customer.*", []),
    ],
)
async def test_events_filter_by_type_and_family(api: Api, ctx: AppContext, type: str, expected: list[str]) -> None:
    for event_type in ("cashIn.processing", "cashIn.completed", "transaction.fiatToCrypto.failed"):
        await emit(ctx, api.tenant_id, event_type)
    listed = (await api.get("/events", type=type)).json()["data"]
    assert [e["type"] for e in listed] == expected


async def test_events_are_paginated(api: Api, ctx: AppContext) -> None:
    ids = await emit(ctx, api.tenant_id, "cashIn.processing", count=5)
    page = (await api.get("/events", limit=2)).json()
    assert [e["id"] for e in page["data"]] == ids[::-1][:2] and page["hasMore"] is True
    rest = (await api.get("/events", limit=10, startingAfter=page["nextCursor"])).json()
    assert [e["id"] for e in rest["data"]] == ids[::-1][2:] and rest["hasMore"] is False


async def test_another_tenants_events_are_invisible(api: Api, other_api: Api, ctx: AppContext) -> None:
    [event_id] = await emit(ctx, api.tenant_id, "cashIn.completed")
    assert (await other_api.get("/events")).json()["data"] == []
    assert_error(await other_api.get(f"/events/{event_id}"), 404, "resource_missing")
    assert_error(await other_api.get("/events", startingAfter=event_id), 400, "invalid_cursor")


@pytest.mark.parametrize("bad", ["evt_nope", "cst_01m87tz5d7ew6bgq3eh3jtk9nt", "evt_01m87tz5d7ew6bgq3eh3jtk9nt"])
async def test_unknown_or_malformed_event_ids_are_404(api: Api, bad: str) -> None:
    assert_error(await api.get(f"/events/{bad}"), 404, "resource_missing")


async def test_unknown_list_parameters_are_400(api: Api) -> None:
    assert_error(await api.get("/events", objectType="x"), 400, "unknown_parameter", "objectType")


async def test_a_new_tenant_has_no_events(api: Api) -> None:
    assert (await api.get("/events")).json() == {
        "data": [],
        "hasMore": False,
        "nextCursor": None,
        "previousCursor": None,
    }
