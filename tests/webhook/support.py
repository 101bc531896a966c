"""Helpers for the webhook tests: plain functions."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook as StandardWebhook

from oms.context import AppContext
from oms.event import service as events
from oms.models import WebhookAttempt, WebhookDelivery
from tests.support import Api
from tests.webhook.receiver import Received


async def create_webhook(api: Api, url: str, events: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url, **fields}
    if events is not None:
        body["events"] = events
    response = await api.post("/webhooks", body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def delete(api: Api, path: str) -> httpx.Response:
    return await api.client.delete(path, headers=api.headers())


async def emit(
    ctx: AppContext, tenant_id: str, type: str, *, count: int = 1, object_id: str | None = None
) -> list[str]:
    """Record events as a state change would (the outbox write), committed."""
    ids = []
    async with ctx.db.session_scope() as session:
        for _ in range(count):
            oid = object_id or f"txn_{uuid.uuid4().hex}"
            event = await events.record(
                session, tenant_id=tenant_id, type=type, object_id=oid, resource={"id": oid}, at=ctx.clock.now()
            )
            ids.append(event.id)
    return ids


def verify(secret: str, request: Received) -> dict[str, Any]:
    """The official verifier, exactly as an integrator would call it."""
    return dict(StandardWebhook(secret).verify(request.body, request.headers))


def signed_by(secret: str, request: Received) -> bool:
    """Whether one of the request's signatures is ``secret``'s, whatever its timestamp."""
    headers = request.headers
    moment = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    expected = StandardWebhook(secret).sign(headers["webhook-id"], moment, request.body.decode())
    return expected in headers["webhook-signature"].split(" ")


def body_of(request: Received) -> dict[str, Any]:
    return dict(json.loads(request.body))


async def deliveries_of(ctx: AppContext, webhook_id: str) -> list[WebhookDelivery]:
    async with ctx.db.session_scope(write=False) as session:
        rows = await session.execute(select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id))
        return list(rows.scalars())


async def attempts_of(ctx: AppContext, delivery_id: str) -> list[WebhookAttempt]:
    async with ctx.db.session_scope(write=False) as session:
        rows = await session.execute(
            select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id).order_by(WebhookAttempt.number)
        )
        return list(rows.scalars())
