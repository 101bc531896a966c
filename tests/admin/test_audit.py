"""The audit log through the admin API (oms/admin/audit.py): an operator's own actions are in it as theirs,
and any operator reads it with filters and cursors."""

from __future__ import annotations

import httpx

from oms.context import AppContext
from tests.admin.support import bearer, make_operator, with_token
from tests.support import Api, assert_error, create_customer


async def test_an_operators_action_is_recorded_as_theirs(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext
) -> None:
    admin = await with_token(ctx, await make_operator(ctx, "admin"))
    viewer = await with_token(ctx, await make_operator(ctx, "viewer"))
    customer = await create_customer(api)
    changed = await admin_http.put(
        f"/customers/{customer['id']}/status", json={"status": "inactive"}, headers=bearer(admin)
    )
    assert changed.status_code == 200, changed.text
    listed = await admin_http.get("/audit-records", params={"objectId": customer["id"]}, headers=bearer(viewer))
    assert listed.status_code == 200, listed.text
    deactivated, created = listed.json()["data"]  # newest first
    assert deactivated["actor"] == {"kind": "operator", "id": admin.id}
    assert (deactivated["action"], deactivated["tenantId"]) == (
        "PUT /admin/v1/customers/{customer_id}/status",
        api.tenant_id,
    )
    assert deactivated["requestId"] == changed.headers["request-id"]
    assert (created["actor"], created["action"]) == (
        {"kind": "api_key", "id": api.issued.key_id},
        "POST /v0.9/customers",
    )
    one = await admin_http.get(f"/audit-records/{deactivated['id']}", headers=bearer(viewer))
    assert one.json() == deactivated


async def test_the_records_filter_and_page_with_cursors(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext
) -> None:
    viewer = bearer(await with_token(ctx, await make_operator(ctx, "viewer")))
    created = [(await create_customer(api))["id"] for _ in range(3)]
    mine = {"tenantId": api.tenant_id, "action": "POST /v0.9/customers", "outcome": "succeeded", "limit": "2"}
    first = (await admin_http.get("/audit-records", params=mine, headers=viewer)).json()
    assert [record["objectId"] for record in first["data"]] == [created[2], created[1]] and first["hasMore"]
    after = {**mine, "startingAfter": first["nextCursor"]}
    second = (await admin_http.get("/audit-records", params=after, headers=viewer)).json()
    assert [record["objectId"] for record in second["data"]] == [created[0]] and not second["hasMore"]
    before = {**mine, "endingBefore": second["previousCursor"]}
    back = (await admin_http.get("/audit-records", params=before, headers=viewer)).json()
    assert [record["objectId"] for record in back["data"]] == [created[2], created[1]]
    failed = {"tenantId": api.tenant_id, "outcome": "failed"}
    assert (await admin_http.get("/audit-records", params=failed, headers=viewer)).json()["data"] == []
    bad = await admin_http.get("/audit-records", params={"startingAfter": "cst_1"}, headers=viewer)
    assert_error(bad, 400, "invalid_cursor", "startingAfter")
    assert_error(await admin_http.get("/audit-records/aud_999999999", headers=viewer), 404, "resource_missing")
