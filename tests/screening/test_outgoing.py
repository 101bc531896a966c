"""Every external destination is screened, at quote and again inside the execution: a listed destination holds
the transfer for review (its funds held, its send never signed), and the tenant sees an ordinary
`processing`/`fundsHeld` transfer on every surface (no tipping off). An approver releases it (sent, settled) or
rejects it (failed, the hold released once) through the admin review endpoints."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx
from eth_utils import to_checksum_address

from oms.context import AppContext
from tests.controls.support import decide, operator, reviews_of, send_status
from tests.funding.support import customer_with_wallet
from tests.screening.support import COMPLIANCE_TYPES, list_addresses
from tests.support import (
    Api,
    OffsetClock,
    balance,
    execute,
    funded_wallet,
    ledger_is_sound,
    quote,
    settle,
    settle_until_completed,
)


def outside() -> str:
    return to_checksum_address("0x" + secrets.token_hex(20))


async def sent_to(api: Api, ctx: AppContext, clock: OffsetClock, to: str) -> tuple[dict[str, Any], dict[str, Any]]:
    customer, wallet = await funded_wallet(api, ctx, clock)
    offer = await quote(api, customer, wallet, to=to, amount="30.00")
    assert offer.status_code == 201, offer.text
    executed = await execute(api, offer.json()["id"])
    assert executed.status_code == 201, executed.text
    return wallet, executed.json()


async def assert_shows_only_funds_held(api: Api, transaction: dict[str, Any]) -> None:
    """Every tenant surface of a held transaction: its answer, its list, its events."""
    assert (transaction["status"], transaction["subStatus"]) == ("processing", "fundsHeld")
    fetched = (await api.get(f"/transactions/{transaction['id']}")).json()
    assert (fetched["status"], fetched["subStatus"]) == ("processing", "fundsHeld")
    listed = (await api.get("/transactions", limit=100)).json()["data"]
    assert [(t["status"], t["subStatus"]) for t in listed if t["id"] == transaction["id"]] == [
        ("processing", "fundsHeld")
    ]
    events = (await api.get("/events", limit=100)).json()["data"]
    assert not {event["type"] for event in events} & COMPLIANCE_TYPES
    mine = [e for e in events if e["data"]["object"].get("id") == transaction["id"]]
    assert [(e["type"], e["data"]["object"]["subStatus"]) for e in mine] == [
        ("transaction.cryptoToCrypto.processing", "fundsHeld")
    ]
    assert "underReview" not in str(fetched) + str(listed) + str(events)


async def test_a_transfer_to_a_listed_address_is_held_for_review_and_shows_only_funds_held(
    api: Api, ctx: AppContext, clock: OffsetClock, admin_http: httpx.AsyncClient, tmp_path: Path
) -> None:
    listed = outside()
    await list_addresses(ctx, tmp_path, listed.lower())
    wallet, transaction = await sent_to(api, ctx, clock, listed)
    await settle(ctx, clock)
    assert await send_status(ctx, transaction["id"]) == "held"
    assert await balance(api, wallet) == ("100.00", "70.00", "0.00")
    await assert_shows_only_funds_held(api, transaction)
    [review] = await reviews_of(admin_http, await operator(ctx, "viewer"), api.tenant_id)
    assert (review["transactionId"], review["kind"], review["status"]) == (transaction["id"], "review", "pending")
    assert review["reason"].startswith(f"{listed} is on the OFAC SDN list")
    await ledger_is_sound(ctx, api)


async def test_a_released_review_sends_the_transfer_and_it_completes(
    api: Api, ctx: AppContext, clock: OffsetClock, admin_http: httpx.AsyncClient, tmp_path: Path
) -> None:
    listed = outside()
    await list_addresses(ctx, tmp_path, listed)
    _, transaction = await sent_to(api, ctx, clock, listed)
    approver = await operator(ctx)
    [review] = await reviews_of(admin_http, approver, api.tenant_id)
    approved = await decide(admin_http, approver, review["id"], "approve", "false positive, case 7")
    assert approved.status_code == 200, approved.text
    await settle_until_completed(ctx, clock, api, transaction["id"])
    assert (await api.get(f"/transactions/{transaction['id']}")).json()["status"] == "completed"
    events = (await api.get("/events", objectId=transaction["id"])).json()["data"]
    assert [e["type"] for e in reversed(events)] == [
        "transaction.cryptoToCrypto.processing",
        "transaction.cryptoToCrypto.completed",
    ]
    await ledger_is_sound(ctx, api)


async def test_a_rejected_review_fails_the_transfer_and_releases_its_hold_once(
    api: Api, ctx: AppContext, clock: OffsetClock, admin_http: httpx.AsyncClient, tmp_path: Path
) -> None:
    listed = outside()
    await list_addresses(ctx, tmp_path, listed)
    wallet, transaction = await sent_to(api, ctx, clock, listed)
    approver = await operator(ctx)
    [review] = await reviews_of(admin_http, approver, api.tenant_id)
    rejected = await decide(admin_http, approver, review["id"], "reject", "confirmed match")
    assert rejected.status_code == 200, rejected.text
    await settle(ctx, clock, rounds=2)
    failed = (await api.get(f"/transactions/{transaction['id']}")).json()
    assert (failed["status"], failed["error"]["code"]) == ("failed", "transaction_refused")  # names no review
    assert "review" not in failed["error"]["message"].lower()
    assert await send_status(ctx, transaction["id"]) != "held"
    assert await balance(api, wallet) == ("100.00", "100.00", "0.00")
    assert (await decide(admin_http, approver, review["id"], "reject")).status_code == 409
    assert await balance(api, wallet) == ("100.00", "100.00", "0.00")
    await ledger_is_sound(ctx, api)


async def test_a_destination_listed_after_the_quote_is_held_at_execution(
    api: Api, ctx: AppContext, clock: OffsetClock, admin_http: httpx.AsyncClient, tmp_path: Path
) -> None:
    later = outside()
    customer, wallet = await funded_wallet(api, ctx, clock)
    offer = await quote(api, customer, wallet, to=later, amount="30.00")
    assert offer.status_code == 201, offer.text
    await list_addresses(ctx, tmp_path, later)
    executed = await execute(api, offer.json()["id"])
    assert executed.status_code == 201, executed.text
    assert await send_status(ctx, executed.json()["id"]) == "held"
    await assert_shows_only_funds_held(api, executed.json())


async def test_unlisted_and_internal_destinations_are_not_held(
    api: Api, ctx: AppContext, clock: OffsetClock, tmp_path: Path
) -> None:
    await list_addresses(ctx, tmp_path, outside())
    _, transaction = await sent_to(api, ctx, clock, outside())
    assert await send_status(ctx, transaction["id"]) != "held"
    customer, wallet = await funded_wallet(api, ctx, clock)
    _, inside = await customer_with_wallet(api)
    await list_addresses(ctx, tmp_path, inside["address"])  # an OMS wallet is not screened: it is not external
    offer = await quote(api, customer, wallet, to=inside, amount="10.00")
    executed = await execute(api, offer.json()["id"])
    assert executed.status_code == 201, executed.text
    assert await send_status(ctx, executed.json()["id"]) != "held"
