"""Builds the webhook objects of one process (called by the composition root, ``oms.context``)."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import TypedDict

from oms.config import Settings
from oms.db import Database
from oms.kit.crypto import derive_key
from oms.kit.time import Clock
from oms.webhook.dispatch import DeliveryWorker, Dispatcher, RetryPolicy
from oms.webhook.sender import HttpSender
from oms.webhook.service import WebhookService
from oms.webhook.ssrf import UrlGuard


class WebhookParts(TypedDict):
    webhooks: WebhookService
    webhook_delivery: DeliveryWorker


def build_webhooks(settings: Settings, *, root: bytes, clock: Clock, db: Database) -> WebhookParts:
    guard = UrlGuard(settings.mode)
    webhooks = WebhookService(
        clock=clock,
        mode=settings.mode,
        secret_key=derive_key(root, "webhook-secret-aes-256-gcm"),
        guard=guard,
        retry_window=timedelta(seconds=settings.webhook_retry_window_seconds),
    )
    dispatcher = Dispatcher(
        clock=clock,
        webhooks=webhooks,
        sender=HttpSender(
            guard, timeout=settings.webhook_timeout_seconds, max_connections=settings.webhook_concurrency
        ),
        retry=RetryPolicy(
            base=timedelta(seconds=settings.webhook_retry_base_seconds),
            cap=timedelta(seconds=settings.webhook_retry_cap_seconds),
            rng=random.Random(),
        ),
        lease=timedelta(seconds=max(settings.webhook_lease_seconds, settings.webhook_timeout_seconds + 1)),
    )
    delivery = DeliveryWorker(
        db,
        dispatcher,
        capacity=settings.webhook_concurrency,
        per_endpoint=settings.webhook_concurrency_per_endpoint,
        idle_wait=settings.webhook_poll_seconds,
    )
    return {"webhooks": webhooks, "webhook_delivery": delivery}
