"""Policies through the admin API: versions kept (a change is a new row), every change audited with the operator
as its actor, each transaction recording the policy version that decided it, bad input a 4xx; and a policy that
requires approval holding a transfer for m-of-n approvers, with an expiry on the tenant's clock."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from oms.context import AppContext
from oms.models import TransactionPolicy
from tests.controls.support import decide, entries, operator, reviews_of, send_status
from tests.policy.support import advance, create_policy
from tests.support import (
    EXTERNAL,
    Api,
    OffsetClock,
    assert_error,
    balance,
    execute,
    funded_wallet,
    ledger_is_sound,
    quote,
    settle_until_completed,
)


async def _deciding_versions(ctx: AppContext, transaction_id: str) -> dict[str, str]:
    async with ctx.db.session_scope(write=False) as session:
        rows = await session.execute(
            select(TransactionPolicy.policy_version_id, TransactionPolicy.outcome).where(
                TransactionPolicy.transaction_id == transaction_id
            )
        )
        return {version: outcome for version, outcome in rows}


async def test_a_change_is_a_new_version_and_the_old_ones_are_kept(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext, clock: OffsetClock
) -> None:
    admin, viewer = await operator(ctx, "admin"), await operator(ctx, "viewer")
    created = await create_policy(admin_http, admin, api, {"maxAmountPerTransaction": "10.00"})
    assert (created["version"], created["status"], created["rules"]["maxAmountPerTransaction"]) == (
        1,
        "active",
        "10.00",
    )
    path = f"/tenants/{api.tenant_id}/policies/{created['id']}"
    body = {"name": "tighter", "rules": {"maxAmountPerTransaction": "5.00", "denyList": [EXTERNAL]}}
    changed = await admin_http.put(path, json=body, headers=admin)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["version"], changed.json()["name"]) == (2, "tighter")
    assert changed.json()["versionId"] != created["versionId"]
    disabled = await admin_http.post(path + "/disable", headers=admin)
    assert (disabled.json()["version"], disabled.json()["status"]) == (3, "disabled")
    assert_error(await admin_http.post(path + "/disable", headers=admin), 409, "policy_disabled")
    versions = (await admin_http.get(path + "/versions", headers=viewer)).json()["data"]
    assert [(v["version"], v["status"], v["rules"]["maxAmountPerTransaction"]) for v in versions] == [
        (1, "active", "10.00"), (2, "active", "5.00"), (3, "disabled", "5.00"),
    ]  # fmt: skip
    assert versions[0]["id"] == created["versionId"]
    assert {v["createdBy"]["kind"] for v in versions} == {"operator"}
    assert (await admin_http.get(path, headers=viewer)).json() == disabled.json()
    listed = (await admin_http.get(f"/tenants/{api.tenant_id}/policies", headers=viewer)).json()
    assert [p["id"] for p in listed["data"]] == [created["id"]]
    records = await admin_http.get("/audit-records", params={"tenantId": api.tenant_id, "actorKind": "operator"},
                                   headers=viewer)  # fmt: skip
    actions = [record["action"] for record in records.json()["data"] if record["outcome"] == "succeeded"]
    assert actions == [
        "POST /admin/v1/tenants/{tenant_id}/policies/{policy_id}/disable",
        "PUT /admin/v1/tenants/{tenant_id}/policies/{policy_id}",
        "POST /admin/v1/tenants/{tenant_id}/policies",
    ]
    customer, wallet = await funded_wallet(api, ctx, clock)
    offer = await quote(api, customer, wallet, to=EXTERNAL, amount="20.00")
    assert offer.status_code == 201, offer.text  # disabled: it no longer applies


async def test_each_transaction_records_the_policy_version_that_decided_it(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext, clock: OffsetClock
) -> None:
    admin = await operator(ctx, "admin")
    customer, wallet = await funded_wallet(api, ctx, clock)
    created = await create_policy(admin_http, admin, api, {"maxAmountPerTransaction": "10.00"})
    path = f"/tenants/{api.tenant_id}/policies/{created['id']}"
    changed = (await admin_http.put(path, json={"name": "v2", "rules": {"maxAmountPerTransaction": "9.00"}},
                                    headers=admin)).json()  # fmt: skip
    paid = await execute(api, (await quote(api, customer, wallet, to=EXTERNAL, amount="2.00")).json()["id"])
    assert paid.status_code == 201, paid.text
    assert await _deciding_versions(ctx, paid.json()["id"]) == {changed["versionId"]: "allow"}
    await ledger_is_sound(ctx, api)


async def test_bad_policies_are_refused_with_a_4xx(admin_http: httpx.AsyncClient, api: Api, ctx: AppContext) -> None:
    admin = await operator(ctx, "admin")
    base = f"/tenants/{api.tenant_id}/policies"

    async def refused(rules: dict, **fields: object) -> httpx.Response:
        return await admin_http.post(base, json={"name": "bad", "rules": rules, **fields}, headers=admin)

    assert_error(await refused({"denyList": ["0x12"]}), 400, "invalid_address", "rules.denyList.0")
    assert_error(await refused({"limits": [{"per": "wallet", "window": "day"}]}), 400, "invalid_limit")
    assert_error(await refused({"maxAmountPerTransaction": "1.0000001"}), 400, "invalid_amount")
    assert_error(await refused({"limits": [{"per": "tenant", "window": "day", "maxCount": 1}]}), 400,
                 "parameter_invalid", "rules.limits.0.per")  # fmt: skip
    assert_error(await refused({}, customerId="cst_01m98r40swes8s8rmc0zjrvyfw"), 404, "resource_missing", "customerId")
    assert_error(await refused({}, approval={"requiredApprovals": 2}), 400, "invalid_approval")
    unknown = await admin_http.post("/tenants/ten_nobody/policies", json={"name": "x", "rules": {}}, headers=admin)
    assert_error(unknown, 404, "resource_missing")
    viewer = await operator(ctx, "viewer")
    assert_error(await admin_http.post(base, json={"name": "x", "rules": {}}, headers=viewer), 403, "insufficient_role")


async def test_a_policy_requiring_approval_holds_the_transfer_for_m_of_n_approvers(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext, clock: OffsetClock
) -> None:
    admin, first, second = await operator(ctx, "admin"), await operator(ctx), await operator(ctx)
    customer, wallet = await funded_wallet(api, ctx, clock)
    policy = await create_policy(admin_http, admin, api, {"maxAmountPerTransaction": "10.00"},
                                 action="requireApproval", approval={"requiredApprovals": 2})  # fmt: skip
    small = await execute(api, (await quote(api, customer, wallet, to=EXTERNAL, amount="10.00")).json()["id"])
    assert (small.status_code, small.json()["subStatus"]) == (201, "fundsHeld")
    big = await execute(api, (await quote(api, customer, wallet, to=EXTERNAL, amount="20.00")).json()["id"])
    assert (big.status_code, big.json()["status"], big.json()["subStatus"]) == (201, "processing", "awaitingApproval")
    assert await _deciding_versions(ctx, big.json()["id"]) == {policy["versionId"]: "hold"}
    (review,) = await reviews_of(admin_http, first, api.tenant_id)
    assert (review["transactionId"], review["policyVersionId"], review["reason"]) == (
        big.json()["id"], policy["versionId"], "policy_amount_per_transaction",
    )  # fmt: skip
    assert (await decide(admin_http, first, review["id"], "approve")).json()["status"] == "pending"
    assert_error(await decide(admin_http, first, review["id"], "approve"), 409, "already_voted")
    assert (await decide(admin_http, second, review["id"], "approve")).json()["status"] == "approved"
    await settle_until_completed(ctx, clock, api, big.json()["id"])
    await settle_until_completed(ctx, clock, api, small.json()["id"])
    assert await balance(api, wallet) == ("70.00", "70.00", "0.00")
    await ledger_is_sound(ctx, api)


async def test_a_policy_approval_expires_on_the_test_clock(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext, clock: OffsetClock
) -> None:
    admin = await operator(ctx, "admin")
    customer, wallet = await funded_wallet(api, ctx, clock)
    await create_policy(admin_http, admin, api, {"maxAmountPerTransaction": "10.00"}, action="requireApproval",
                        approval={"requiredApprovals": 1, "expiresInSeconds": 600})  # fmt: skip
    held = (await execute(api, (await quote(api, customer, wallet, to=EXTERNAL, amount="20.00")).json()["id"])).json()
    (review,) = await reviews_of(admin_http, admin, api.tenant_id)
    await advance(api, 599)
    async with ctx.db.session_scope() as session:
        assert await ctx.reviews.expire_due(session) == 0
    await advance(api, 1)
    async with ctx.db.session_scope() as session:
        assert await ctx.reviews.expire_due(session) == 1
    failed = (await api.get(f"/transactions/{held['id']}")).json()
    assert (failed["status"], failed["error"]["code"]) == ("failed", "approval_expired")
    assert (await admin_http.get(f"/reviews/{review['id']}", headers=admin)).json()["status"] == "expired"
    assert await send_status(ctx, held["id"]) == "cancelled"
    assert await entries(ctx, held["id"], "transfer.release") == 1
    assert await balance(api, wallet) == ("100.00", "100.00", "0.00")
    await ledger_is_sound(ctx, api)
