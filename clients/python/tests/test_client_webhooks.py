"""Webhooks: real deliveries from the server to a receiver on loopback verify with ``oms_client.verify`` (on the
``standardwebhooks`` library) into typed events with their ``sequence``; a tampered delivery is refused."""

from __future__ import annotations

import json

import pytest
from conftest import Server

from oms_client import AsyncOMS, WebhookVerificationError, parse_event, verify
from tests.webhook.receiver import Received, Receiver


@pytest.fixture
def receiver() -> Receiver:
    server = Receiver().start()
    yield server
    server.stop()


async def delivered(oms: AsyncOMS, server: Server, receiver: Receiver, count: int) -> list[Received]:
    await server.ctx.webhook_delivery.deliver_all()  # the worker's delivery job, run here
    return await receiver.wait_for(count)


async def test_real_deliveries_verify_into_typed_events(oms: AsyncOMS, oms_server: Server, receiver: Receiver) -> None:
    hook = await oms.create_webhook({"url": receiver.url + "/oms", "events": ["customer.endorsement.granted"]})
    customer = await oms.create_customer({})
    granted = [e for e in customer.endorsements if e.status == "active"]
    requests = await delivered(oms, oms_server, receiver, len(granted))

    events = [verify(request.body, request.headers, hook.secret) for request in requests]
    assert {event.type for event in events} == {"customer.endorsement.granted"}
    assert {event.data.object["id"] for event in events} == {customer.id}
    assert all(isinstance(event.sequence, int) and event.sequence > 0 for event in events)
    assert len({event.sequence for event in events}) == len(events)  # ordering is by sequence, not arrival
    assert {event.id for event in events} == {request.headers["webhook-id"] for request in requests}
    assert {e.id async for e in oms.iter_events(object_id=customer.id)} >= {event.id for event in events}


async def test_a_test_send_is_a_verifiable_event(oms: AsyncOMS, oms_server: Server, receiver: Receiver) -> None:
    hook = await oms.create_webhook({"url": receiver.url + "/test"})
    await oms.test_webhook(hook.id)
    [request] = await delivered(oms, oms_server, receiver, 1)
    event = verify(request.body, request.headers, hook.secret)
    assert event == parse_event(request.body)
    assert [d.event_id async for d in oms.iter_deliveries(hook.id)] == [event.id]


async def test_tampered_or_foreign_deliveries_are_refused(
    oms: AsyncOMS, oms_server: Server, receiver: Receiver
) -> None:
    hook = await oms.create_webhook({"url": receiver.url + "/in"})
    other = await oms.create_webhook({"url": receiver.url + "/elsewhere", "enabled": False})
    await oms.test_webhook(hook.id)
    [request] = await delivered(oms, oms_server, receiver, 1)
    body, headers = request.body, request.headers
    payload = json.loads(body)
    forged = json.dumps({**payload, "sequence": payload["sequence"] + 1}).encode()
    later = str(int(headers["webhook-timestamp"]) + 1)
    attempts = [
        (forged, headers, hook.secret),
        (body, {**headers, "webhook-id": "evt_other"}, hook.secret),
        (body, {**headers, "webhook-timestamp": later}, hook.secret),
        (body, {**headers, "webhook-signature": "v1"}, hook.secret),
        (body, {k: v for k, v in headers.items() if k != "webhook-signature"}, hook.secret),
        (body, headers, other.secret),
    ]
    for tampered_body, tampered_headers, secret in attempts:
        with pytest.raises(WebhookVerificationError):
            verify(tampered_body, tampered_headers, secret)
    assert verify(body, headers, hook.secret).id == request.headers["webhook-id"]
