"""The signer signs only a send that may leave: it reads the send from the database itself and refuses one held
for a review, one whose review refused it, one awaiting approval however its row is marked, and one already
signed. Each refusal is in the audit log. Through a real ``oms signer`` process."""

from __future__ import annotations

import httpx
import pytest

from oms.chain.port import SigningRefused
from oms.context import AppContext
from oms.signer.client import SignerClient
from tests.controls.support import HoldEverything, decide, operator, reviews_of
from tests.signer.support import mark_queued, signer_records, transfer_send
from tests.support import EXTERNAL, Api, OffsetClock, execute, funded_wallet, quote, settle_until_completed


async def _transfer(api: Api, ctx: AppContext, clock: OffsetClock) -> dict:
    customer, wallet = await funded_wallet(api, ctx, clock)
    offer = await quote(api, customer, wallet, to=EXTERNAL, amount="30.00")
    assert offer.status_code == 201, offer.text
    response = await execute(api, offer.json()["id"])
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _refusal(signer: SignerClient, send_id: str, attempt: int = 0) -> str:
    with pytest.raises(SigningRefused) as refused:
        await signer.sign_send(send_id, attempt=attempt)
    return refused.value.code


async def test_the_signer_refuses_a_held_send(
    signer: SignerClient, api: Api, ctx: AppContext, clock: OffsetClock, holding: HoldEverything
) -> None:
    transfer = await _transfer(api, ctx, clock)
    send = await transfer_send(ctx, transfer["id"])
    assert send.status == "held"
    assert await _refusal(signer, send.id) == "send_held"
    [record] = await signer_records(ctx, send.id)
    assert (record.actor_id, record.tenant_id, record.outcome, record.error_code) == (
        "oms signer",
        api.tenant_id,
        "failed",
        "send_held",
    )


async def test_the_signer_refuses_a_send_awaiting_approval_even_marked_queued(
    signer: SignerClient, api: Api, ctx: AppContext, clock: OffsetClock, holding: HoldEverything
) -> None:
    transfer = await _transfer(api, ctx, clock)
    send = await transfer_send(ctx, transfer["id"])
    await mark_queued(ctx, send.id)
    assert await _refusal(signer, send.id) == "awaiting_approval"


async def test_the_signer_refuses_a_send_whose_review_refused_it(
    admin_http: httpx.AsyncClient,
    signer: SignerClient,
    api: Api,
    ctx: AppContext,
    clock: OffsetClock,
    holding: HoldEverything,
) -> None:
    transfer = await _transfer(api, ctx, clock)
    approver = await operator(ctx)
    (review,) = await reviews_of(admin_http, approver, api.tenant_id)
    assert (await decide(admin_http, approver, review["id"], "reject")).status_code == 200
    send = await transfer_send(ctx, transfer["id"])
    await mark_queued(ctx, send.id)
    assert await _refusal(signer, send.id) == "review_refused"


async def test_the_signer_refuses_a_send_it_already_signed(
    signer: SignerClient, api: Api, ctx: AppContext, clock: OffsetClock
) -> None:
    transfer = await _transfer(api, ctx, clock)
    await settle_until_completed(ctx, clock, api, transfer["id"])
    send = await transfer_send(ctx, transfer["id"])
    assert send.status == "confirmed"
    assert await _refusal(signer, send.id) == "send_not_queued"
    assert await _refusal(signer, send.id, attempt=1) == "send_not_in_flight"


async def test_the_signer_refuses_a_send_that_does_not_exist(signer: SignerClient, ctx: AppContext) -> None:
    assert await _refusal(signer, "send_01jzzzzzzzzzzzzzzzzzzzzzzz") == "send_not_found"
