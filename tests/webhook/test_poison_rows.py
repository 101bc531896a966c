"""Poison rows in webhook delivery (docs/decisions.md, "Poison rows"): a delivery that cannot be made — its event
cannot be rendered, its subscription's secret cannot be opened, its subscription's filter cannot be read — is
recorded as a failed attempt (or skipped) and logged, and every other delivery, of the same batch and later
ones, still reaches a real receiver on loopback."""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy import update

from oms.context import AppContext
from oms.event import service as events
from oms.models import Webhook
from tests.support import Api
from tests.webhook.receiver import Receiver
from tests.webhook.support import attempts_of, body_of, create_webhook, deliveries_of, emit

C2C = "transaction.cryptoToCrypto.completed"


async def deliver(ctx: AppContext) -> int:
    return await ctx.webhook_delivery.deliver_all()


async def emit_unrenderable(ctx: AppContext, tenant_id: str) -> str:
    """An event whose stored document cannot be rendered as a payload (an integer beyond 64 bits, which the
    database keeps but the JSON encoder of payloads refuses)."""
    async with ctx.db.session_scope() as session:
        oid = f"txn_{uuid.uuid4().hex}"
        resource = {"id": oid, "units": 2**64}
        event = await events.record(
            session, tenant_id=tenant_id, type=C2C, object_id=oid, resource=resource, at=ctx.clock.now()
        )
        return event.id


async def break_secret(ctx: AppContext, webhook_id: str) -> None:
    """The sealed signing secret no longer opens (a corrupt row, or one sealed under another key)."""
    async with ctx.db.session_scope() as session:
        await session.execute(update(Webhook).where(Webhook.id == webhook_id).values(secret_ciphertext=b"\0" * 48))


async def test_deliveries_that_cannot_be_made_fail_alone_and_the_batch_and_later_ones_go_out(
    wapi: Api, wctx: AppContext, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    healthy = await create_webhook(wapi, receiver.url + "/healthy")
    broken = await create_webhook(wapi, receiver.url + "/broken")
    await break_secret(wctx, broken["id"])
    sent = await emit(wctx, wapi.tenant_id, C2C, count=2)
    poison = await emit_unrenderable(wctx, wapi.tenant_id)
    sent += await emit(wctx, wapi.tenant_id, C2C, count=2)
    with caplog.at_level(logging.ERROR, logger="oms.webhook.dispatch"):
        await deliver(wctx)

    assert sorted(body_of(r)["id"] for r in receiver.to("/healthy")) == sorted(sent)
    assert receiver.to("/broken") == []
    outcomes = {}
    for hook in (healthy, broken):
        for delivery in await deliveries_of(wctx, hook["id"]):
            [attempt] = await attempts_of(wctx, delivery.id)
            outcomes[(hook["id"], delivery.event_id)] = (delivery.status, attempt.outcome, attempt.error)
            if delivery.status == "pending":  # retried on the usual schedule, not on every pass
                assert delivery.next_attempt_at > wctx.clock.now() and delivery.lease_token is None
    assert outcomes == {
        **{(healthy["id"], e): ("delivered", "succeeded", None) for e in sent},
        (healthy["id"], poison): ("pending", "failed", "not sent: the event could not be rendered"),
        **{(broken["id"], e): ("pending", "failed", "not sent: the signing secret could not be opened") for e in sent},
        (broken["id"], poison): ("pending", "failed", "not sent: the event could not be rendered"),
    }
    logged = [r.__dict__["part"] for r in caplog.records if r.getMessage().startswith("webhook delivery not sent")]
    assert sorted(logged) == sorted([poison, broken["id"]])  # each unusable part once, by id

    later = await emit(wctx, wapi.tenant_id, C2C)
    await deliver(wctx)
    assert body_of(receiver.to("/healthy")[-1])["id"] == later[0]
    # Through the API, the tenant sees why.
    failed = await wapi.get(f"/webhooks/{broken['id']}/deliveries", status="pending")
    errors = [a["error"] for d in failed.json()["data"] for a in d["attempts"] if d["eventId"] != poison]
    assert errors == ["not sent: the signing secret could not be opened"] * len([*sent, *later])


async def test_a_subscription_whose_filter_cannot_be_read_is_skipped_and_the_event_reaches_the_others(
    wapi: Api, wctx: AppContext, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    await create_webhook(wapi, receiver.url + "/healthy")
    unreadable = await create_webhook(wapi, receiver.url + "/unreadable")
    async with wctx.db.session_scope() as session:
        await session.execute(update(Webhook).where(Webhook.id == unreadable["id"]).values(events=5))
    with caplog.at_level(logging.ERROR, logger="oms.webhook.dispatch"):
        sent = await emit(wctx, wapi.tenant_id, C2C, count=3)
        await deliver(wctx)
    assert sorted(body_of(r)["id"] for r in receiver.to("/healthy")) == sorted(sent)
    assert receiver.to("/unreadable") == [] and await deliveries_of(wctx, unreadable["id"]) == []
    skipped = [r for r in caplog.records if r.getMessage().startswith("webhook subscription unreadable")]
    assert {(r.__dict__["webhook"], r.__dict__["event"]) for r in skipped} == {(unreadable["id"], e) for e in sent}
