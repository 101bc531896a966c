"""Every deposit's sender is screened: a sender on the sanctions list makes the deposit frozen (never available,
shown to the tenant as pending), and an approver releases it (credited) or rejects it (blocked: it stays frozen)
through the admin API, once, audited with the operator as actor and the reason kept with the deposit."""

from __future__ import annotations

from pathlib import Path

import httpx

from oms.context import AppContext
from tests.admin.support import bearer, make_operator, with_token
from tests.audit.support import records
from tests.screening.flows import frozen_deposit, screened_deposits
from tests.support import Api, OffsetClock, assert_error, balance, execute, fund, ledger_is_sound, quote, settle


async def test_a_deposit_from_a_listed_sender_is_frozen_and_cannot_be_spent(
    api: Api, other_api: Api, ctx: AppContext, clock: OffsetClock, admin_http: httpx.AsyncClient, tmp_path: Path
) -> None:
    viewer = await with_token(ctx, await make_operator(ctx, "viewer"))
    wallet, sender = await frozen_deposit(api, other_api, ctx, clock, tmp_path)
    [deposit] = await screened_deposits(admin_http, bearer(viewer), tenantId=api.tenant_id)
    assert deposit["status"] == "frozen" and deposit["walletId"] == wallet["id"]
    assert deposit["fromAddress"] == sender["address"] and deposit["reviewedBy"] is None
    assert deposit["screeningReason"].startswith(f"{sender['address']} is on the OFAC SDN list (SDN_ADVANCED.XML)")
    assert await balance(api, wallet) == ("0.00", "0.00", deposit["amount"])
    spend = await quote(api, {"id": wallet["customerId"]}, wallet, to="0x" + "1" * 40, amount="1.00")
    assert spend.status_code == 201, spend.text  # a quote holds nothing; the execution has nothing to hold
    assert_error(await execute(api, spend.json()["id"]), 422, "insufficient_funds")
    await ledger_is_sound(ctx, api)


async def test_a_later_deposit_from_an_unlisted_sender_is_credited_as_usual(
    api: Api, other_api: Api, ctx: AppContext, clock: OffsetClock, tmp_path: Path
) -> None:
    wallet, _ = await frozen_deposit(api, other_api, ctx, clock, tmp_path)
    await fund(api, wallet, "5.00")
    await settle(ctx, clock, rounds=5)
    _, available, _ = await balance(api, wallet)
    assert available == "5.00"
    await ledger_is_sound(ctx, api)


async def test_a_rejected_deposit_is_blocked_for_good_and_decided_only_once(
    api: Api, other_api: Api, ctx: AppContext, clock: OffsetClock, admin_http: httpx.AsyncClient, tmp_path: Path
) -> None:
    approver = await with_token(ctx, await make_operator(ctx, "approver"))
    wallet, _ = await frozen_deposit(api, other_api, ctx, clock, tmp_path)
    [deposit] = await screened_deposits(admin_http, bearer(approver), tenantId=api.tenant_id, status="frozen")
    path = f"/deposits/{deposit['id']}"
    rejected = await admin_http.post(
        path + "/reject", json={"reason": "OFAC match, reported"}, headers=bearer(approver)
    )
    assert rejected.status_code == 200, rejected.text
    decided = rejected.json()
    assert (decided["status"], decided["reviewedBy"], decided["reviewNote"]) == (
        "blocked", approver.id, "OFAC match, reported"
    )  # fmt: skip
    again = await admin_http.post(path + "/release", json={"reason": "changed my mind"}, headers=bearer(approver))
    assert_error(again, 409, "deposit_not_frozen")
    assert await balance(api, wallet) == ("0.00", "0.00", deposit["amount"])
    assert (await admin_http.get(path, headers=bearer(approver))).json()["status"] == "blocked"
    assert await screened_deposits(admin_http, bearer(approver), tenantId=api.tenant_id, status="frozen") == []
    [record] = [r for r in await records(ctx, object_id=deposit["id"]) if r["outcome"] == "succeeded"]
    assert record["actor"] == {"kind": "operator", "id": approver.id}
    assert record["action"] == "POST /admin/v1/deposits/{deposit_id}/reject"
    assert record["tenantId"] == api.tenant_id
    await ledger_is_sound(ctx, api)


async def test_a_viewer_cannot_release_a_frozen_deposit(
    api: Api, other_api: Api, ctx: AppContext, clock: OffsetClock, admin_http: httpx.AsyncClient, tmp_path: Path
) -> None:
    viewer = await with_token(ctx, await make_operator(ctx, "viewer"))
    wallet, _ = await frozen_deposit(api, other_api, ctx, clock, tmp_path)
    [deposit] = await screened_deposits(admin_http, bearer(viewer), tenantId=api.tenant_id)
    refused = await admin_http.post(
        f"/deposits/{deposit['id']}/release", json={"reason": "looks fine"}, headers=bearer(viewer)
    )
    assert_error(refused, 403, "insufficient_role")
    assert await balance(api, wallet) == ("0.00", "0.00", deposit["amount"])


async def test_a_decision_needs_a_reason_and_an_existing_frozen_deposit(
    ctx: AppContext, admin_http: httpx.AsyncClient
) -> None:
    approver = await with_token(ctx, await make_operator(ctx, "approver"))
    missing = await admin_http.post("/deposits/dep_nothing/release", json={"reason": "x"}, headers=bearer(approver))
    assert_error(missing, 404, "resource_missing")
    blank = await admin_http.post("/deposits/dep_nothing/release", json={"reason": "  "}, headers=bearer(approver))
    assert blank.status_code == 400
    assert (await admin_http.get("/deposits/dep_nothing", headers=bearer(approver))).status_code == 404
