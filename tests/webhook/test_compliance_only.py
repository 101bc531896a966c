"""Compliance-only events (AML: no tipping off). A deposit frozen by a screening hit, and its release, are
announced only to webhook endpoints whose complianceOnly flag an operator set (the admin API); the tenant's other
endpoints, its events list and its balance show an ordinary pending deposit, then an ordinary credit. The same for
a transfer held for review: the others see `processing`/`fundsHeld`, then `completed`."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from eth_utils import to_checksum_address

from oms.context import AppContext
from tests.admin.conftest import ADMIN_BASE
from tests.admin.support import bearer, make_operator, with_token
from tests.screening.flows import frozen_deposit, screened_deposits
from tests.screening.support import list_addresses
from tests.support import (
    Api,
    OffsetClock,
    balance,
    execute,
    funded_wallet,
    ledger_is_sound,
    new_api,
    quote,
    settle_until_completed,
)
from tests.webhook.receiver import Receiver
from tests.webhook.support import body_of, create_webhook

COMPLIANCE_TYPES = {"wallet.depositFrozen", "wallet.depositReleased", "wallet.depositBlocked"}


@pytest.fixture
async def wadmin(wctx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=wctx.app)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url=ADMIN_BASE) as http:
        yield http


def types_for(receiver: Receiver, path: str, object_id: str) -> list[str]:
    bodies = [body_of(request) for request in receiver.to(path)]
    return [body["type"] for body in bodies if body["data"]["object"]["id"] == object_id]


async def test_a_frozen_deposit_and_its_release_reach_only_compliance_only_endpoints(
    wapi: Api, wctx: AppContext, wclock: OffsetClock, wadmin: httpx.AsyncClient, receiver: Receiver, tmp_path: Path
) -> None:
    approver = await with_token(wctx, await make_operator(wctx, "approver"))
    admin = await with_token(wctx, await make_operator(wctx, "admin"))
    normal = await create_webhook(wapi, receiver.url + "/normal")  # every event
    family = await create_webhook(wapi, receiver.url + "/wallet", ["wallet.*"])
    compliance = await create_webhook(wapi, receiver.url + "/compliance")
    flagged = await wadmin.patch(f"/webhooks/{compliance['id']}", json={"complianceOnly": True}, headers=bearer(admin))
    assert flagged.status_code == 200, flagged.text
    sender_api = await new_api(wapi.client, wctx)

    wallet, _ = await frozen_deposit(wapi, sender_api, wctx, wclock, tmp_path)
    [deposit] = await screened_deposits(wadmin, bearer(approver), tenantId=wapi.tenant_id, status="frozen")
    await wctx.webhook_delivery.deliver_all()

    amount = deposit["amount"]  # what arrived: the sender's 10.00 less its fee
    assert await balance(wapi, wallet) == ("0.00", "0.00", amount)  # frozen: to the tenant, still pending
    # Both were delivered in one round, concurrently: webhooks promise no order between events.
    delivered = sorted(types_for(receiver, "/compliance", deposit["id"]))
    assert delivered == ["wallet.depositDetected", "wallet.depositFrozen"]
    frozen = next(body_of(r) for r in receiver.to("/compliance") if body_of(r)["type"] == "wallet.depositFrozen")
    assert frozen["data"]["object"]["screeningReason"].startswith(deposit["fromAddress"])
    for path in ("/normal", "/wallet"):
        assert types_for(receiver, path, deposit["id"]) == ["wallet.depositDetected"]
    listed = (await wapi.get("/events", objectId=deposit["id"])).json()["data"]
    assert [event["type"] for event in listed] == ["wallet.depositDetected"]
    assert [e["status"] for e in [event["data"]["object"] for event in listed]] == ["pending"]
    everything = (await wapi.get("/events", limit=100)).json()["data"]
    assert not {event["type"] for event in everything} & COMPLIANCE_TYPES
    assert (await wapi.get(f"/events/{frozen['id']}")).status_code == 404
    assert (await wapi.get("/events", type="wallet.depositFrozen")).json()["data"] == []

    released = await wadmin.post(
        f"/deposits/{deposit['id']}/release", json={"reason": "sender delisted; case 42"}, headers=bearer(approver)
    )
    assert released.status_code == 200, released.text
    await wctx.webhook_delivery.deliver_all()
    assert await balance(wapi, wallet) == (amount, amount, "0.00")
    assert types_for(receiver, "/compliance", deposit["id"])[-1] == "wallet.depositReleased"
    for path in ("/normal", "/wallet"):
        assert types_for(receiver, path, deposit["id"]) == ["wallet.depositDetected"]
    listed = (await wapi.get("/events", objectId=deposit["id"])).json()["data"]
    assert [event["type"] for event in listed] == ["wallet.depositDetected"]
    assert normal["id"] != family["id"]
    await ledger_is_sound(wctx, wapi)


async def test_a_transfer_held_for_review_and_its_release_reach_only_compliance_only_endpoints(
    wapi: Api, wctx: AppContext, wclock: OffsetClock, wadmin: httpx.AsyncClient, receiver: Receiver, tmp_path: Path
) -> None:
    approver = await with_token(wctx, await make_operator(wctx, "approver"))
    admin = await with_token(wctx, await make_operator(wctx, "admin"))
    await create_webhook(wapi, receiver.url + "/normal")
    await create_webhook(wapi, receiver.url + "/family", ["transaction.*"])
    compliance = await create_webhook(wapi, receiver.url + "/compliance")
    flagged = await wadmin.patch(f"/webhooks/{compliance['id']}", json={"complianceOnly": True}, headers=bearer(admin))
    assert flagged.status_code == 200, flagged.text
    listed = to_checksum_address("0x" + secrets.token_hex(20))
    await list_addresses(wctx, tmp_path, listed)
    customer, wallet = await funded_wallet(wapi, wctx, wclock)
    offer = await quote(wapi, customer, wallet, to=listed, amount="30.00")
    executed = await execute(wapi, offer.json()["id"])
    assert executed.status_code == 201, executed.text
    transaction = executed.json()
    await wctx.webhook_delivery.deliver_all()

    [review] = (await wadmin.get("/reviews", params={"tenantId": wapi.tenant_id}, headers=bearer(approver))).json()[
        "data"
    ]
    assert types_for(receiver, "/compliance", review["id"]) == ["transaction.underReview"]
    under = next(body_of(r) for r in receiver.to("/compliance") if body_of(r)["type"] == "transaction.underReview")
    assert under["data"]["object"]["transactionId"] == transaction["id"]
    assert under["data"]["object"]["reason"].startswith(listed)
    for path in ("/normal", "/family"):
        assert types_for(receiver, path, review["id"]) == []
        seen = [body_of(r)["data"]["object"] for r in receiver.to(path)]
        assert [(t["status"], t["subStatus"]) for t in seen if t["id"] == transaction["id"]] == [
            ("processing", "fundsHeld")
        ]
        assert not [r for r in receiver.to(path) if b"underReview" in r.body]

    approved = await wadmin.post(
        f"/reviews/{review['id']}/approve", json={"reason": "cleared"}, headers=bearer(approver)
    )
    assert approved.status_code == 200, approved.text
    await settle_until_completed(wctx, wclock, wapi, transaction["id"])
    await wctx.webhook_delivery.deliver_all()
    assert types_for(receiver, "/compliance", review["id"]) == ["transaction.underReview", "transaction.reviewReleased"]
    for path in ("/normal", "/family"):
        seen = [body_of(r)["data"]["object"] for r in receiver.to(path)]
        assert [t["status"] for t in seen if t["id"] == transaction["id"]] == ["processing", "completed"]
        assert not [r for r in receiver.to(path) if b"underReview" in r.body or b"review" in r.body]
    await ledger_is_sound(wctx, wapi)
