"""Customers: create, retrieve, list, update, and the endorsement (KYC) lifecycle in sandbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from oms import worker
from oms.models import Customer as CustomerRow
from oms.models import Event
from tests.support import FULL_IDENTITY, Api, OffsetClock, assert_error, create_customer


def statuses(customer: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["status"] for e in customer["endorsements"]}


async def events_of(ctx, object_id: str) -> list[Event]:  # type: ignore[no-untyped-def]
    async with ctx.db.session_scope(write=False) as session:
        rows = await session.execute(select(Event).where(Event.object_id == object_id).order_by(Event.sequence))
        return list(rows.scalars())


async def test_empty_customer_is_approved_at_once_in_sandbox(api: Api, ctx) -> None:
    customer = await create_customer(api)
    assert customer["id"].startswith("cst_") and customer["object"] == "customer"
    assert customer["type"] == "individual" and customer["status"] == "active"
    assert statuses(customer) == {"basic": "active", "cryptoCustody": "active", "usd": "active"}
    granted = await events_of(ctx, customer["id"])
    assert [e.type for e in granted] == ["customer.endorsement.granted"] * 3
    assert [e.sequence for e in granted] == [1, 2, 3]
    assert granted[0].data["data"]["object"]["id"] == customer["id"]


async def test_personal_data_is_write_only_and_sealed_at_rest(api: Api, ctx) -> None:
    customer = await create_customer(api, **FULL_IDENTITY)
    for field in ("birthDate", "residentialAddress", "ipAddress", "identifyingInformation"):
        assert field not in customer
    assert customer["firstName"] == "Ada" and customer["email"] == "ada@example.com"
    fetched = (await api.get(f"/customers/{customer['id']}")).json()
    assert "birthDate" not in fetched
    async with ctx.db.session_scope(write=False) as session:
        row = await session.get(CustomerRow, customer["id"])
    assert row is not None and row.pii_ciphertext is not None
    assert b"123-45-6789" not in row.pii_ciphertext and b"1990-12-10" not in row.pii_ciphertext


async def test_endorsements_wait_for_missing_identity_fields(api: Api, ctx) -> None:
    customer = await create_customer(api, firstName="Ada", lastName="Lovelace")
    assert statuses(customer) == {"basic": "pending", "cryptoCustody": "pending", "usd": "pending"}
    basic = customer["endorsements"][0]["requirements"]
    assert basic["pending"] == ["firstName", "lastName"]
    assert set(basic["missing"]) == {"email", "birthDate", "residentialAddress", "signedAgreement"}
    await worker.run_once(ctx)
    still = (await api.get(f"/customers/{customer['id']}")).json()
    assert statuses(still)["basic"] == "pending"


async def test_complete_identity_is_granted_by_the_sandbox_reviewer(api: Api, ctx) -> None:
    customer = await create_customer(api, firstName="Ada")
    rest = {k: v for k, v in FULL_IDENTITY.items() if k != "firstName"}
    updated = (await api.patch(f"/customers/{customer['id']}", rest)).json()
    assert all(not e["requirements"]["missing"] for e in updated["endorsements"])
    await worker.run_once(ctx)
    granted = (await api.get(f"/customers/{customer['id']}")).json()
    assert statuses(granted) == {"basic": "active", "cryptoCustody": "active", "usd": "active"}
    assert "birthDate" in granted["endorsements"][0]["requirements"]["complete"]
    assert [e.type for e in await events_of(ctx, customer["id"])] == ["customer.endorsement.granted"] * 3


async def test_sandbox_last_name_reject_is_rejected_with_reasons(api: Api, ctx) -> None:
    customer = await create_customer(api, **{**FULL_IDENTITY, "lastName": "Reject"})
    await worker.run_once(ctx)
    rejected = (await api.get(f"/customers/{customer['id']}")).json()
    assert set(statuses(rejected).values()) == {"rejected"}
    reasons = rejected["endorsements"][0]["rejectionReasons"]
    assert reasons and {"reason", "developerReason"} <= set(reasons[0])
    assert {e.type for e in await events_of(ctx, customer["id"])} == {"customer.endorsement.rejected"}


async def test_requested_endorsements_always_include_basic(api: Api) -> None:
    customer = await create_customer(api, endorsements=["cryptoCustody"])
    assert statuses(customer) == {"basic": "active", "cryptoCustody": "active"}


async def test_get_unknown_or_malformed_customer_is_404(api: Api) -> None:
    assert_error(await api.get("/customers/cst_01h455vb4pex5vsknk084sn02q"), 404, "resource_missing")
    assert_error(await api.get("/customers/not-an-id"), 404, "resource_missing")


async def test_unknown_field_is_400_naming_it(api: Api) -> None:
    assert_error(await api.post("/customers", {"firstname": "typo"}), 400, "unknown_parameter", param="firstname")


async def test_invalid_nested_field_is_400_with_its_path(api: Api) -> None:
    body = {"residentialAddress": {"line1": "x", "city": "y", "country": "usa", "zipCode": "1"}}
    assert_error(await api.post("/customers", body), 400, "parameter_invalid", param="residentialAddress.country")


async def test_invalid_email_is_400(api: Api) -> None:
    assert_error(await api.post("/customers", {"email": "nope"}), 400, "parameter_invalid", param="email")


async def test_signed_agreement_sets_its_timestamp(api: Api) -> None:
    customer = await create_customer(api)
    assert customer["signedAgreement"] is False and customer["signedAgreementAt"] is None
    updated = (await api.patch(f"/customers/{customer['id']}", {"signedAgreement": True})).json()
    assert updated["signedAgreement"] is True and updated["signedAgreementAt"] is not None


async def test_patch_merges_metadata_and_null_removes_a_key(api: Api) -> None:
    customer = await create_customer(api, metadata={"a": "1", "b": "2"})
    updated = (await api.patch(f"/customers/{customer['id']}", {"metadata": {"b": None, "c": "3"}})).json()
    assert updated["metadata"] == {"a": "1", "c": "3"}


async def test_list_filters_by_email_external_id_and_status(api: Api) -> None:
    first = await create_customer(api, email="one@example.com", externalId="u-1")
    await create_customer(api, email="two@example.com", externalId="u-2")
    by_email = (await api.get("/customers", email="one@example.com")).json()
    assert [c["id"] for c in by_email["data"]] == [first["id"]]
    by_external = (await api.get("/customers", externalId="u-1")).json()
    assert [c["id"] for c in by_external["data"]] == [first["id"]]
    assert (await api.get("/customers", status="inactive")).json()["data"] == []
    assert_error(await api.get("/customers", status="frozen"), 400, "parameter_invalid", param="status")


async def test_list_pages_newest_first_both_ways(api: Api, clock: OffsetClock) -> None:
    created = []
    for _ in range(5):
        created.append((await create_customer(api))["id"])
        clock.advance(milliseconds=5)
    newest_first = list(reversed(created))
    page1 = (await api.get("/customers", limit=2)).json()
    assert [c["id"] for c in page1["data"]] == newest_first[:2]
    assert page1["hasMore"] is True and page1["cursor"] == page1["nextCursor"] == newest_first[1]
    page2 = (await api.get("/customers", limit=2, startingAfter=page1["nextCursor"])).json()
    assert [c["id"] for c in page2["data"]] == newest_first[2:4]
    page3 = (await api.get("/customers", limit=2, startingAfter=page2["nextCursor"])).json()
    assert [c["id"] for c in page3["data"]] == newest_first[4:] and page3["hasMore"] is False
    back = (await api.get("/customers", limit=2, endingBefore=page3["previousCursor"])).json()
    assert [c["id"] for c in back["data"]] == newest_first[2:4] and back["hasMore"] is True


async def test_list_date_filters_are_inclusive(api: Api, clock: OffsetClock) -> None:
    first = await create_customer(api)
    clock.advance(seconds=1)
    second = await create_customer(api)
    both = (await api.get("/customers", createdAfter=first["createdAt"], createdBefore=second["createdAt"])).json()
    assert [c["id"] for c in both["data"]] == [second["id"], first["id"]]
    only_first = (await api.get("/customers", createdBefore=first["createdAt"])).json()
    assert [c["id"] for c in only_first["data"]] == [first["id"]]


async def test_list_limit_over_100_is_400(api: Api) -> None:
    assert_error(await api.get("/customers", limit=101), 400, "parameter_invalid", param="limit")


async def test_unknown_cursor_is_400(api: Api) -> None:
    assert_error(await api.get("/customers", startingAfter="cst_01h455vb4pex5vsknk084sn02q"), 400, "invalid_cursor")
