"""Delivery to a real HTTP receiver on loopback: signatures, matching, retries, 410, rotation, redelivery."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from datetime import timedelta

import pytest
from standardwebhooks.webhooks import WebhookVerificationError

from oms import worker
from oms.config import Mode, Settings
from oms.context import AppContext
from oms.webhook.sender import HttpSender
from oms.webhook.ssrf import UrlGuard
from oms.webhook.wiring import build_webhooks
from tests.support import Api, OffsetClock, assert_error, captured_logs, create_key, exchange
from tests.webhook.receiver import Received, Receiver
from tests.webhook.support import (
    attempts_of,
    body_of,
    create_webhook,
    deliveries_of,
    emit,
    signed_by,
    verify,
)

C2C = "transaction.cryptoToCrypto.completed"


async def deliver(ctx: AppContext) -> int:
    return await ctx.webhook_delivery.deliver_all()


async def test_signature_verifies_with_standardwebhooks_and_fails_after_tampering(
    wapi: Api, wctx: AppContext, receiver: Receiver
) -> None:
    hook = await create_webhook(wapi, receiver.url + "/in")
    [event_id] = await emit(wctx, wapi.tenant_id, C2C)
    await deliver(wctx)
    [request] = receiver.to("/in")
    payload = verify(hook["secret"], request)  # the secret exactly as POST /webhooks returned it
    assert payload["id"] == event_id and request.headers["webhook-id"] == event_id
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-signature"].startswith("v1,")
    tampered = [
        (request.body.replace(b'"sequence":1', b'"sequence":2'), request.headers),
        (request.body, {**request.headers, "webhook-id": "evt_other"}),
        (request.body, {**request.headers, "webhook-timestamp": str(int(request.headers["webhook-timestamp"]) + 1)}),
    ]
    for body, headers in tampered:
        with pytest.raises(WebhookVerificationError):
            verify(hook["secret"], Received(request.path, headers, body))
    other = await create_webhook(wapi, receiver.url + "/other")
    with pytest.raises(WebhookVerificationError):
        verify(other["secret"], request)


async def test_payload_is_the_event_envelope_from_the_events_api(
    wapi: Api, wctx: AppContext, receiver: Receiver
) -> None:
    await create_webhook(wapi, receiver.url + "/in")
    wallet = f"wlt_{uuid.uuid4().hex}"
    [event_id] = await emit(wctx, wapi.tenant_id, "wallet.depositDetected", object_id=wallet)
    await deliver(wctx)
    [request] = receiver.to("/in")
    body = body_of(request)
    assert list(body) == ["id", "object", "type", "createdAt", "sequence", "data"]
    assert body == (await wapi.get(f"/events/{event_id}")).json()
    assert body["object"] == "event" and body["type"] == "wallet.depositDetected"
    assert body["data"] == {"object": {"id": wallet}} and body["sequence"] == 1


async def test_events_reach_exactly_the_matching_subscriptions(wapi: Api, wctx: AppContext, receiver: Receiver) -> None:
    filters = {
        "/all": [],
        "/transactions": ["transaction.*"],
        "/sends": ["transaction.cryptoToCrypto.*"],
        "/exact": ["transaction.fiatToCrypto.completed", "wallet.depositDetected"],
        "/cash": ["cashIn.*"],
        "/endorsements": ["customer.endorsement.*"],
    }
    for path, events in filters.items():
        await create_webhook(wapi, receiver.url + path, events)
    types = [
        C2C,
        "transaction.cryptoToCrypto.failed",
        "transaction.fiatToCrypto.completed",
        "cashIn.expired",
        "wallet.depositDetected",
        "customer.endorsement.granted",
        "transaction.cryptoToFiat.processing",
    ]
    for event_type in types:
        await emit(wctx, wapi.tenant_id, event_type)
    await deliver(wctx)

    def received(path: str) -> set[str]:
        return {body_of(r)["type"] for r in receiver.to(path)}

    assert received("/all") == set(types)
    assert received("/transactions") == {t for t in types if t.startswith("transaction.")}
    assert received("/sends") == {C2C, "transaction.cryptoToCrypto.failed"}
    assert received("/exact") == {"transaction.fiatToCrypto.completed", "wallet.depositDetected"}
    assert received("/cash") == {"cashIn.expired"}
    assert received("/endorsements") == {"customer.endorsement.granted"}
    assert len(receiver.requests) == sum(len(received(p)) for p in filters)  # each once


async def test_state_changes_through_the_api_are_delivered(wapi: Api, wctx: AppContext, receiver: Receiver) -> None:
    await create_webhook(wapi, receiver.url + "/in", ["customer.endorsement.granted"])
    customer = (await wapi.post("/customers", {})).json()
    await deliver(wctx)
    bodies = [body_of(r) for r in receiver.to("/in")]
    assert [b["type"] for b in bodies] == ["customer.endorsement.granted"] * 3
    assert {b["data"]["object"]["id"] for b in bodies} == {customer["id"]}
    assert sorted(b["sequence"] for b in bodies) == [1, 2, 3]


async def test_other_tenants_events_are_never_sent(wapi: Api, wctx: AppContext, receiver: Receiver) -> None:
    await create_webhook(wapi, receiver.url + "/mine")
    other = await create_key(wctx)
    await emit(wctx, other.tenant_id, C2C)
    await deliver(wctx)
    assert receiver.to("/mine") == []


async def test_events_before_the_subscription_or_while_disabled_are_not_sent(
    wapi: Api, wctx: AppContext, wclock: OffsetClock, receiver: Receiver
) -> None:
    await emit(wctx, wapi.tenant_id, "cashIn.processing")
    wclock.advance(milliseconds=5)
    hook = await create_webhook(wapi, receiver.url + "/in", enabled=False)
    await emit(wctx, wapi.tenant_id, "cashIn.failed")
    await deliver(wctx)
    await wapi.patch(f"/webhooks/{hook['id']}", {"enabled": True})
    [sent] = await emit(wctx, wapi.tenant_id, "cashIn.completed")
    await deliver(wctx)
    assert [r.webhook_id for r in receiver.to("/in")] == [sent]


async def test_a_failed_attempt_is_retried_with_the_same_webhook_id_and_growing_delays(
    wapi: Api, wctx: AppContext, wclock: OffsetClock, receiver: Receiver
) -> None:
    answers = iter([(500, b"boom"), (503, b"busy"), (200, b"ok")])
    receiver.respond = lambda _: next(answers)
    hook = await create_webhook(wapi, receiver.url + "/in")
    [event_id] = await emit(wctx, wapi.tenant_id, C2C)
    await deliver(wctx)
    [delivery] = await deliveries_of(wctx, hook["id"])
    first_delay = delivery.next_attempt_at - delivery.updated_at
    assert timedelta(seconds=5) <= first_delay <= timedelta(seconds=10)  # base 10 s, equal jitter
    await deliver(wctx)
    assert len(receiver.to("/in")) == 1  # not due yet: nothing is sent early
    wclock.advance(seconds=first_delay.total_seconds())
    await deliver(wctx)
    [delivery] = await deliveries_of(wctx, hook["id"])
    second_delay = delivery.next_attempt_at - delivery.updated_at
    assert timedelta(seconds=10) <= second_delay <= timedelta(seconds=20)
    wclock.advance(seconds=second_delay.total_seconds())
    await deliver(wctx)
    requests = receiver.to("/in")
    assert [r.webhook_id for r in requests] == [event_id] * 3
    assert len({r.headers["webhook-timestamp"] for r in requests}) == 3  # each attempt signed afresh
    for request in requests:
        assert signed_by(hook["secret"], request)
    listed = (await wapi.get(f"/webhooks/{hook['id']}/deliveries")).json()["data"]
    [shown] = listed
    assert shown["status"] == "delivered" and shown["attemptCount"] == 3 and shown["deliveredAt"]
    assert [(a["number"], a["outcome"], a["statusCode"], a["responseExcerpt"]) for a in shown["attempts"]] == [
        (1, "failed", 500, "boom"),
        (2, "failed", 503, "busy"),
        (3, "succeeded", 200, "ok"),
    ]
    assert all(a["latencyMs"] is not None and a["finishedAt"] for a in shown["attempts"])


async def test_unreachable_receiver_is_an_attempt_with_an_error(
    wapi: Api, wctx: AppContext, receiver: Receiver
) -> None:
    url = receiver.url
    receiver.stop()
    hook = await create_webhook(wapi, url + "/gone-away")
    await emit(wctx, wapi.tenant_id, C2C)
    await deliver(wctx)
    [delivery] = await deliveries_of(wctx, hook["id"])
    [attempt] = await attempts_of(wctx, delivery.id)
    assert delivery.status == "pending" and attempt.outcome == "failed"
    assert attempt.status_code is None and attempt.error and "Connect" in attempt.error


async def test_each_attempt_logs_its_host_and_path_without_tokens_or_secrets(
    wapi: Api, wctx: AppContext, receiver: Receiver
) -> None:
    hook = await create_webhook(wapi, receiver.url + "/hooks/oms/xR7Kd93LmQpWz28VtBn4YcHs?key=abc")
    receiver.respond = lambda _: (503, b"busy")
    with captured_logs() as stream:
        [event_id] = await emit(wctx, wapi.tenant_id, C2C)
        await deliver(wctx)
    [line] = [json.loads(line) for line in stream.getvalue().splitlines() if '"webhook attempt"' in line]
    host = receiver.url.split("://")[1]
    assert line["level"] == "warning" and line["webhook"] == hook["id"] and line["event"] == event_id
    assert (line["host"], line["urlPath"], line["status"], line["attempt"]) == (
        host, "/hooks/oms/[REDACTED]?[REDACTED]", 503, 1,
    )  # fmt: skip
    output = stream.getvalue()
    for secret in ("xR7Kd93LmQpWz28VtBn4YcHs", "key=abc", hook["secret"], hook["secret"].removeprefix("whsec_")):
        assert secret not in output
    assert "HTTP Request:" not in output  # httpx's own line, which named the pinned address


async def test_retries_stop_after_24_hours_and_the_delivery_fails(
    wapi: Api, wctx: AppContext, wclock: OffsetClock, receiver: Receiver
) -> None:
    receiver.respond = lambda _: (500, b"down")
    hook = await create_webhook(wapi, receiver.url + "/in")
    [event_id] = await emit(wctx, wapi.tenant_id, C2C)
    started = wctx.clock.now()
    await deliver(wctx)
    for _ in range(100):
        [delivery] = await deliveries_of(wctx, hook["id"])
        if delivery.status != "pending":
            break
        wclock.advance(seconds=(delivery.next_attempt_at - wctx.clock.now()).total_seconds())
        await deliver(wctx)
    assert delivery.status == "failed" and delivery.failed_at is not None
    assert timedelta(hours=24) <= delivery.failed_at - started <= timedelta(hours=24, seconds=1)
    attempts = await attempts_of(wctx, delivery.id)
    assert 12 <= len(attempts) <= 30 and all(a.outcome == "failed" for a in attempts)
    gaps = [(b.started_at - a.started_at).total_seconds() for a, b in itertools.pairwise(attempts)]
    assert gaps[:8] == sorted(gaps[:8])  # backing off
    assert max(gaps) <= 7200
    assert {r.webhook_id for r in receiver.to("/in")} == {event_id}
    wapi.token = await exchange(wapi.client, wapi.issued)  # a day later: the old token has expired
    listed = (await wapi.get(f"/webhooks/{hook['id']}/deliveries", status="failed")).json()["data"]
    assert [d["id"] for d in listed] == [delivery.id] and listed[0]["nextAttemptAt"] is None


async def test_a_failed_delivery_can_be_redelivered_by_hand(
    wapi: Api, wctx: AppContext, wclock: OffsetClock, receiver: Receiver
) -> None:
    receiver.respond = lambda _: (410, b"gone")
    hook = await create_webhook(wapi, receiver.url + "/in")
    [event_id] = await emit(wctx, wapi.tenant_id, C2C)
    await deliver(wctx)
    [delivery] = await deliveries_of(wctx, hook["id"])
    assert delivery.status == "failed"
    path = f"/webhooks/{hook['id']}/deliveries/{delivery.id}/retry"
    assert_error(await wapi.post(path), 409, "webhook_disabled")  # the 410 disabled it
    await wapi.patch(f"/webhooks/{hook['id']}", {"enabled": True})
    receiver.respond = lambda _: (200, b"thanks")
    retried = await wapi.post(path)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "pending" and retried.json()["failedAt"] is None
    await deliver(wctx)
    assert [r.webhook_id for r in receiver.to("/in")] == [event_id, event_id]
    shown = (await wapi.get(f"/webhooks/{hook['id']}/deliveries/{delivery.id}")).json()
    assert shown["status"] == "delivered"
    assert [a["statusCode"] for a in shown["attempts"]] == [410, 200]


async def test_410_disables_the_subscription(wapi: Api, wctx: AppContext, receiver: Receiver) -> None:
    receiver.respond = lambda _: (410, b"")
    hook = await create_webhook(wapi, receiver.url + "/in")
    await emit(wctx, wapi.tenant_id, C2C)
    await deliver(wctx)
    shown = (await wapi.get(f"/webhooks/{hook['id']}")).json()
    assert shown["enabled"] is False and shown["status"] == "disabled"
    assert shown["disabledReason"] == "endpoint_gone"
    [delivery] = await deliveries_of(wctx, hook["id"])
    assert delivery.status == "failed"
    await emit(wctx, wapi.tenant_id, C2C)
    await deliver(wctx)
    assert len(receiver.to("/in")) == 1
    enabled = (await wapi.patch(f"/webhooks/{hook['id']}", {"enabled": True})).json()
    assert enabled["status"] == "active" and enabled["disabledReason"] is None


async def test_pending_deliveries_wait_while_the_subscription_is_disabled(
    wapi: Api, wctx: AppContext, wclock: OffsetClock, receiver: Receiver
) -> None:
    receiver.respond = lambda _: (500, b"")
    hook = await create_webhook(wapi, receiver.url + "/in")
    await emit(wctx, wapi.tenant_id, C2C)
    await deliver(wctx)
    await wapi.patch(f"/webhooks/{hook['id']}", {"enabled": False})
    receiver.respond = lambda _: (200, b"")
    wclock.advance(minutes=5)
    await deliver(wctx)
    assert len(receiver.to("/in")) == 1
    await wapi.patch(f"/webhooks/{hook['id']}", {"enabled": True})
    await deliver(wctx)
    assert len(receiver.to("/in")) == 2


async def test_redirects_are_not_followed(wapi: Api, wctx: AppContext, receiver: Receiver) -> None:
    receiver.respond = lambda r: (307, b"") if r.path == "/in" else (200, b"")
    hook = await create_webhook(wapi, receiver.url + "/in")
    await emit(wctx, wapi.tenant_id, C2C)
    await deliver(wctx)
    [delivery] = await deliveries_of(wctx, hook["id"])
    [attempt] = await attempts_of(wctx, delivery.id)
    assert attempt.status_code == 307 and attempt.outcome == "failed" and delivery.status == "pending"
    assert len(receiver.requests) == 1


async def test_the_response_excerpt_is_at_most_1_kb(wapi: Api, wctx: AppContext, receiver: Receiver) -> None:
    receiver.respond = lambda _: (500, b"x" * 50_000)
    hook = await create_webhook(wapi, receiver.url + "/in")
    await emit(wctx, wapi.tenant_id, C2C)
    await deliver(wctx)
    [delivery] = await deliveries_of(wctx, hook["id"])
    [attempt] = await attempts_of(wctx, delivery.id)
    assert attempt.response_excerpt == "x" * 1024


async def test_rotation_overlap_signs_with_both_secrets_then_only_the_new_one(
    wapi: Api, wctx: AppContext, wclock: OffsetClock, receiver: Receiver
) -> None:
    hook = await create_webhook(wapi, receiver.url + "/in")
    old = hook["secret"]
    rotated = (await wapi.post(f"/webhooks/{hook['id']}/rotate-secret", {"previousSecretExpiresIn": 60})).json()
    new = rotated["secret"]
    await emit(wctx, wapi.tenant_id, C2C)
    await deliver(wctx)
    [during] = receiver.to("/in")
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert verify(old, during)["type"] == C2C and verify(new, during)["type"] == C2C
    wclock.advance(seconds=61)
    await emit(wctx, wapi.tenant_id, C2C)
    await deliver(wctx)
    after = receiver.to("/in")[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert verify(new, after)["type"] == C2C
    with pytest.raises(WebhookVerificationError):
        verify(old, after)
    assert (await wapi.get(f"/webhooks/{hook['id']}")).json()["previousSecretExpiresAt"] is None


async def test_rotation_without_overlap_drops_the_old_secret_at_once(
    wapi: Api, wctx: AppContext, receiver: Receiver
) -> None:
    hook = await create_webhook(wapi, receiver.url + "/in")
    new = (await wapi.post(f"/webhooks/{hook['id']}/rotate-secret", {"previousSecretExpiresIn": 0})).json()["secret"]
    await emit(wctx, wapi.tenant_id, C2C)
    await deliver(wctx)
    [request] = receiver.to("/in")
    assert verify(new, request) and not signed_by(hook["secret"], request)


async def test_test_send_reaches_only_that_endpoint(wapi: Api, wctx: AppContext, receiver: Receiver) -> None:
    target = await create_webhook(wapi, receiver.url + "/target", ["cashIn.*"])
    await create_webhook(wapi, receiver.url + "/bystander")
    delivery = (await wapi.post(f"/webhooks/{target['id']}/test")).json()
    await deliver(wctx)
    [request] = receiver.to("/target")
    body = verify(target["secret"], request)
    assert body["type"] == "webhook.test" and body["id"] == delivery["eventId"]
    assert body["data"]["object"]["id"] == target["id"] and "secret" not in body["data"]["object"]
    assert receiver.to("/bystander") == []


async def test_a_slow_receiver_does_not_hold_up_other_endpoints_or_the_api(
    wapi: Api, wctx: AppContext, receiver: Receiver
) -> None:
    slow = Receiver().start()
    try:
        slow.release.clear()  # hangs until released
        await create_webhook(wapi, slow.url + "/slow")
        await emit(wctx, wapi.tenant_id, C2C)
        await wctx.webhook_delivery.run()  # claims and starts the attempt, does not wait for it
        await slow.wait_for(1)
        await create_webhook(wapi, receiver.url + "/fast")
        started = time.monotonic()
        assert (await wapi.post("/customers", {})).status_code == 201
        [sent] = await emit(wctx, wapi.tenant_id, C2C)
        for _ in range(50):
            await wctx.webhook_delivery.run()
            if sent in {r.webhook_id for r in receiver.to("/fast")}:
                break
            await asyncio.sleep(0.02)
        assert sent in {r.webhook_id for r in receiver.to("/fast")}
        assert time.monotonic() - started < 5
        assert wctx.webhook_delivery.in_flight >= 1  # the slow one is still waiting
    finally:
        slow.release.set()
        await wctx.webhook_delivery.drain()
        slow.stop()


async def test_an_answer_slower_than_the_timeout_is_a_failed_attempt(receiver: Receiver) -> None:
    receiver.release.clear()
    sender = HttpSender(UrlGuard(Mode.sandbox), timeout=0.3, max_connections=4)
    try:
        result = await sender.send(receiver.url + "/slow", {"content-type": "application/json"}, b"{}")
    finally:
        receiver.release.set()
        await sender.close()
    assert result.status_code is None and result.error and result.error.startswith("timeout")
    assert 250 <= result.latency_ms < 2000


async def test_the_worker_runs_the_delivery_job(wapi: Api, wctx: AppContext, receiver: Receiver) -> None:
    assert "webhook-delivery" in {job.name for job in worker.jobs_for(wctx)}
    await create_webhook(wapi, receiver.url + "/in")
    [event_id] = await emit(wctx, wapi.tenant_id, C2C)
    await worker.run_once(wctx)
    await wctx.webhook_delivery.drain()
    assert [r.webhook_id for r in receiver.to("/in")] == [event_id]


async def test_a_worker_shutting_down_gives_back_what_it_could_not_finish(
    wapi: Api, wctx: AppContext, settings: Settings, receiver: Receiver
) -> None:
    receiver.release.clear()
    hook = await create_webhook(wapi, receiver.url + "/in")
    [event_id] = await emit(wctx, wapi.tenant_id, C2C)
    stopping = build_webhooks(settings, root=settings.secret_key_bytes(), clock=wctx.clock, db=wctx.db)[
        "webhook_delivery"
    ]
    await stopping.run()
    await receiver.wait_for(1)
    await stopping.close(grace=0.1)
    receiver.release.set()
    [delivery] = await deliveries_of(wctx, hook["id"])
    assert delivery.status == "pending" and delivery.next_attempt_at <= wctx.clock.now()
    await deliver(wctx)  # due at once, not after the lease
    assert [r.webhook_id for r in receiver.to("/in")] == [event_id, event_id]
    attempts = await attempts_of(wctx, delivery.id)
    assert [a.outcome for a in attempts] == ["abandoned", "succeeded"]
    assert attempts[0].error == "the worker shut down before this attempt finished"
