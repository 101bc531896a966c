"""Held transfers and the operators' decisions on them (oms/controls), through the HTTP API and the admin API, on
the sandbox chain: held, a transfer is never sent; approved by enough distinct approvers, it is sent and settles;
rejected or expired, it fails and its hold is released exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import httpx
import pytest

from oms.context import AppContext
from tests.controls.support import HoldEverything, decide, entries, operator, reviews_of, send_status
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
    settle,
    settle_until_completed,
)

Holding = Callable[..., HoldEverything]


@pytest.fixture
async def holding(ctx: AppContext, api: Api) -> AsyncIterator[Holding]:
    added: list[HoldEverything] = []

    def hold(**options: object) -> HoldEverything:
        check = HoldEverything(api.tenant_id, **options)  # type: ignore[arg-type]
        ctx.controls.add(check)
        added.append(check)
        return check

    yield hold
    for check in added:
        ctx.controls.remove(check)


async def _held(api: Api, ctx: AppContext, clock: OffsetClock, amount: str = "30.00") -> tuple[dict, dict]:
    customer, wallet = await funded_wallet(api, ctx, clock)
    offer = await quote(api, customer, wallet, to=EXTERNAL, amount=amount)
    assert offer.status_code == 201, offer.text
    response = await execute(api, offer.json()["id"])
    assert response.status_code == 201, response.text
    return wallet, response.json()


async def test_a_held_transfer_keeps_its_funds_held_and_is_never_sent(
    api: Api, ctx: AppContext, clock: OffsetClock, holding: Holding
) -> None:
    holding()
    wallet, txn = await _held(api, ctx, clock)
    assert (txn["status"], txn["subStatus"]) == ("processing", "awaitingApproval")
    await settle(ctx, clock)
    assert (await api.get(f"/transactions/{txn['id']}")).json()["subStatus"] == "awaitingApproval"
    assert await send_status(ctx, txn["id"]) == "held"
    assert await balance(api, wallet) == ("100.00", "70.00", "0.00")
    await ledger_is_sound(ctx, api)


async def test_an_approved_transfer_is_sent_and_settles(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext, clock: OffsetClock, holding: Holding
) -> None:
    holding()
    wallet, txn = await _held(api, ctx, clock)
    approver = await operator(ctx)
    (review,) = await reviews_of(admin_http, approver, api.tenant_id)
    assert (review["transactionId"], review["kind"], review["status"]) == (txn["id"], "approval", "pending")
    approved = await decide(admin_http, approver, review["id"], "approve")
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["approvals"]) == ("approved", 1)
    assert (await api.get(f"/transactions/{txn['id']}")).json()["subStatus"] == "fundsHeld"
    await settle_until_completed(ctx, clock, api, txn["id"])
    assert (await api.get(f"/transactions/{txn['id']}")).json()["status"] == "completed"
    assert await balance(api, wallet) == ("70.00", "70.00", "0.00")
    await ledger_is_sound(ctx, api)


async def test_a_rejected_transfer_fails_and_releases_its_hold_once(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext, clock: OffsetClock, holding: Holding
) -> None:
    holding()
    wallet, txn = await _held(api, ctx, clock)
    first, second = await operator(ctx), await operator(ctx, "admin")
    (review,) = await reviews_of(admin_http, first, api.tenant_id)
    rejected = await decide(admin_http, first, review["id"], "reject", "unknown recipient")
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["votes"][0]["reason"] == "unknown recipient"
    failed = (await api.get(f"/transactions/{txn['id']}")).json()
    assert (failed["status"], failed["error"]["code"]) == ("failed", "approval_rejected")
    assert_error(await decide(admin_http, second, review["id"], "reject"), 409, "review_decided")
    assert_error(await decide(admin_http, second, review["id"], "approve"), 409, "review_decided")
    await settle(ctx, clock)
    assert await send_status(ctx, txn["id"]) == "cancelled"
    assert await entries(ctx, txn["id"], "transfer.release") == 1
    assert await balance(api, wallet) == ("100.00", "100.00", "0.00")
    await ledger_is_sound(ctx, api)


async def test_two_approvers_rejecting_at_once_release_the_hold_once(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext, clock: OffsetClock, holding: Holding
) -> None:
    holding()
    wallet, txn = await _held(api, ctx, clock)
    first, second = await operator(ctx), await operator(ctx)
    (review,) = await reviews_of(admin_http, first, api.tenant_id)
    answers = await asyncio.gather(
        decide(admin_http, first, review["id"], "reject"), decide(admin_http, second, review["id"], "reject")
    )
    assert sorted(answer.status_code for answer in answers) == [200, 409]
    assert await entries(ctx, txn["id"], "transfer.release") == 1
    assert await balance(api, wallet) == ("100.00", "100.00", "0.00")
    await ledger_is_sound(ctx, api)


async def test_m_of_n_needs_distinct_approvers(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext, clock: OffsetClock, holding: Holding
) -> None:
    holding(required=2)
    _, txn = await _held(api, ctx, clock)
    first, second = await operator(ctx), await operator(ctx)
    (review,) = await reviews_of(admin_http, first, api.tenant_id)
    once = await decide(admin_http, first, review["id"], "approve")
    assert (once.json()["status"], once.json()["approvals"], once.json()["requiredApprovals"]) == ("pending", 1, 2)
    assert_error(await decide(admin_http, first, review["id"], "approve"), 409, "already_voted")
    assert await send_status(ctx, txn["id"]) == "held"
    twice = await decide(admin_http, second, review["id"], "approve")
    assert (twice.json()["status"], twice.json()["approvals"]) == ("approved", 2)
    assert await send_status(ctx, txn["id"]) == "queued"
    await settle_until_completed(ctx, clock, api, txn["id"])
    await ledger_is_sound(ctx, api)


async def test_a_viewer_cannot_decide(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext, clock: OffsetClock, holding: Holding
) -> None:
    holding()
    _, txn = await _held(api, ctx, clock)
    viewer = await operator(ctx, "viewer")
    (review,) = await reviews_of(admin_http, viewer, api.tenant_id)
    assert_error(await decide(admin_http, viewer, review["id"], "approve"), 403, "insufficient_role")
    assert_error(await decide(admin_http, viewer, review["id"], "reject"), 403, "insufficient_role")
    assert (await admin_http.get(f"/reviews/{review['id']}", headers=viewer)).json()["status"] == "pending"
    assert await send_status(ctx, txn["id"]) == "held"


async def test_an_approval_expires_on_the_tenants_clock_and_releases_the_hold(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext, clock: OffsetClock, holding: Holding
) -> None:
    holding(expires_in=timedelta(hours=1))
    wallet, txn = await _held(api, ctx, clock)
    approver = await operator(ctx)
    async with ctx.db.session_scope() as session:
        assert await ctx.reviews.expire_due(session) == 0
    advanced = await api.post("/sandbox/clock/advance", {"seconds": 3600})
    assert advanced.status_code == 200, advanced.text
    (review,) = await reviews_of(admin_http, approver, api.tenant_id)
    assert_error(await decide(admin_http, approver, review["id"], "approve"), 409, "review_expired")
    async with ctx.db.session_scope() as session:
        assert await ctx.reviews.expire_due(session) == 1
    failed = (await api.get(f"/transactions/{txn['id']}")).json()
    assert (failed["status"], failed["error"]["code"]) == ("failed", "approval_expired")
    assert (await admin_http.get(f"/reviews/{review['id']}", headers=approver)).json()["status"] == "expired"
    assert await entries(ctx, txn["id"], "transfer.release") == 1
    assert await balance(api, wallet) == ("100.00", "100.00", "0.00")
    await ledger_is_sound(ctx, api)
