"""Every transfer into a deposit address has its sender screened: a sender on the sanctions list makes the transfer
frozen (not forwarded, and nothing the tenant sees), and an approver releases it (forwarded as any transfer is) or
rejects it (blocked: never forwarded) through the admin API, once, audited with the operator as actor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from oms.context import AppContext
from tests.admin.support import Person, bearer, make_operator, with_token
from tests.audit.support import records
from tests.screening.flows import deposit_address_with_wallet, sent_to_deposit_address
from tests.support import Api, OffsetClock, assert_error, balance, ledger_is_sound, settle

PATH = "/deposit-address-transfers"


async def screened(admin: httpx.AsyncClient, person: Person, **params: str) -> list[dict[str, Any]]:
    found = await admin.get(PATH, params=params, headers=bearer(person))
    assert found.status_code == 200, found.text
    return list(found.json()["data"])


async def frozen_transfer(
    api: Api, other_api: Api, ctx: AppContext, clock: OffsetClock, admin: httpx.AsyncClient, directory: Path
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], Person]:
    """(the deposit address, its wallet, the frozen transfer, an approver)."""
    address, wallet = await deposit_address_with_wallet(api)
    await sent_to_deposit_address(address, other_api, ctx, clock, directory, listed=True)
    approver = await with_token(ctx, await make_operator(ctx, "approver"))
    [transfer] = await screened(admin, approver, tenantId=api.tenant_id)
    return address, wallet, transfer, approver


async def test_a_transfer_from_a_listed_sender_is_frozen_not_forwarded_and_unseen_by_the_tenant(
    api: Api, other_api: Api, ctx: AppContext, clock: OffsetClock, admin_http: httpx.AsyncClient, tmp_path: Path
) -> None:
    address, wallet, transfer, _ = await frozen_transfer(api, other_api, ctx, clock, admin_http, tmp_path)
    assert (transfer["status"], transfer["depositAddressId"]) == ("frozen", address["id"])
    assert transfer["amount"] == "9.98"  # what arrived: the sender's 10.00 less its fee
    assert transfer["screeningReason"].startswith(f"{transfer['fromAddress']} is on the OFAC SDN list")
    assert transfer["transactionId"] is None and transfer["reviewedBy"] is None
    assert await balance(api, wallet) == ("0.00", "0.00", "0.00")
    listed = (await api.get("/events", objectId=transfer["id"])).json()["data"]
    assert listed == []  # the tenant learns nothing of it
    await ledger_is_sound(ctx, api)


async def test_a_transfer_from_an_unlisted_sender_is_forwarded_as_before(
    api: Api, other_api: Api, ctx: AppContext, clock: OffsetClock, tmp_path: Path
) -> None:
    address, wallet = await deposit_address_with_wallet(api)
    await sent_to_deposit_address(address, other_api, ctx, clock, tmp_path, listed=False)
    total, available, _ = await balance(api, wallet)
    assert total == available != "0.00"
    await ledger_is_sound(ctx, api)


async def test_a_released_transfer_is_forwarded_once_and_the_decision_is_audited(
    api: Api, other_api: Api, ctx: AppContext, clock: OffsetClock, admin_http: httpx.AsyncClient, tmp_path: Path
) -> None:
    _, wallet, transfer, approver = await frozen_transfer(api, other_api, ctx, clock, admin_http, tmp_path)
    path = f"{PATH}/{transfer['id']}"
    released = await admin_http.post(path + "/release", json={"reason": "false match"}, headers=bearer(approver))
    assert released.status_code == 200, released.text
    decided = released.json()
    assert (decided["status"], decided["reviewedBy"], decided["reviewNote"]) == ("routed", approver.id, "false match")
    assert decided["transactionId"] is not None
    again = await admin_http.post(path + "/release", json={"reason": "twice"}, headers=bearer(approver))
    assert_error(again, 409, "transfer_not_frozen")
    await settle(ctx, clock, rounds=8)
    total, available, _ = await balance(api, wallet)
    assert total == available != "0.00"  # 10.00 less the forwarding fee, once
    forward = (await api.get(f"/transactions/{decided['transactionId']}")).json()
    assert forward["status"] == "completed"
    listed = (await api.get("/transactions", customerId=wallet["customerId"])).json()["data"]
    assert [t["id"] for t in listed] == [forward["id"]]  # one forward, never a second
    [record] = [r for r in await records(ctx, object_id=transfer["id"]) if r["outcome"] == "succeeded"]
    assert record["actor"] == {"kind": "operator", "id": approver.id}
    assert record["action"] == "POST /admin/v1/deposit-address-transfers/{transfer_id}/release"
    assert record["tenantId"] == api.tenant_id
    await ledger_is_sound(ctx, api)


async def test_a_rejected_transfer_is_blocked_and_never_forwarded(
    api: Api, other_api: Api, ctx: AppContext, clock: OffsetClock, admin_http: httpx.AsyncClient, tmp_path: Path
) -> None:
    _, wallet, transfer, approver = await frozen_transfer(api, other_api, ctx, clock, admin_http, tmp_path)
    path = f"{PATH}/{transfer['id']}"
    rejected = await admin_http.post(path + "/reject", json={"reason": "confirmed match"}, headers=bearer(approver))
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["transactionId"]) == ("blocked", None)
    await settle(ctx, clock, rounds=4)
    assert await balance(api, wallet) == ("0.00", "0.00", "0.00")
    assert (await admin_http.get(path, headers=bearer(approver))).json()["status"] == "blocked"
    assert await screened(admin_http, approver, tenantId=api.tenant_id, status="frozen") == []
    await ledger_is_sound(ctx, api)


async def test_a_viewer_cannot_release_a_frozen_transfer(
    api: Api, other_api: Api, ctx: AppContext, clock: OffsetClock, admin_http: httpx.AsyncClient, tmp_path: Path
) -> None:
    _, _, transfer, _ = await frozen_transfer(api, other_api, ctx, clock, admin_http, tmp_path)
    viewer = await with_token(ctx, await make_operator(ctx, "viewer"))
    refused = await admin_http.post(
        f"{PATH}/{transfer['id']}/release", json={"reason": "looks fine"}, headers=bearer(viewer)
    )
    assert refused.status_code == 403, refused.text
    assert (await admin_http.get(f"{PATH}/{transfer['id']}", headers=bearer(viewer))).json()["status"] == "frozen"


async def test_an_unknown_transfer_is_404(admin_http: httpx.AsyncClient, ctx: AppContext) -> None:
    viewer = await with_token(ctx, await make_operator(ctx, "viewer"))
    assert_error(await admin_http.get(f"{PATH}/dad_nothing", headers=bearer(viewer)), 404, "resource_missing")
