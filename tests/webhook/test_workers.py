"""Delivery workers as real processes: killed mid-delivery, and two of them sharing the load."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from oms.config import Settings
from oms.context import AppContext
from oms.event import service as events
from oms.models import WebhookAttempt, WebhookDelivery
from tests.support import Api
from tests.webhook.receiver import Receiver
from tests.webhook.support import attempts_of, create_webhook, deliveries_of, emit, signed_by

ROOT = Path(__file__).resolve().parents[2]
C2C = "transaction.cryptoToCrypto.completed"


@pytest.fixture
def worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
    env.update(
        OMS_MODE="sandbox",
        OMS_DATA_DIR=str(settings.data_dir),
        OMS_DATABASE_URL=settings.database_url,
        OMS_DATABASE_SCHEMA=settings.database_schema,
        OMS_SECRET_KEY=settings.secret_key,
        OMS_CUSTODY_KEK=settings.custody_kek,
        OMS_WEBHOOK_POLL_SECONDS="0.02",
        PYTHONPATH=str(ROOT),
    )
    return env


@pytest.fixture
def spawn(worker_env: dict[str, str]) -> Iterator[object]:
    started: list[subprocess.Popen[bytes]] = []

    def start(lease: float = 30, timeout: float = 10) -> subprocess.Popen[bytes]:
        env = {**worker_env, "OMS_WEBHOOK_LEASE_SECONDS": str(lease), "OMS_WEBHOOK_TIMEOUT_SECONDS": str(timeout)}
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.webhook.worker_main"], cwd=ROOT, env=env, stdout=subprocess.PIPE
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


async def test_a_worker_killed_mid_delivery_delivers_after_restart(
    wapi: Api, wctx: AppContext, receiver: Receiver, spawn
) -> None:
    receiver.release.clear()  # the receiver holds the request: the worker is mid-delivery
    hook = await create_webhook(wapi, receiver.url + "/in")
    [event_id] = await emit(wctx, wapi.tenant_id, C2C)
    first = spawn(lease=2, timeout=1)
    [held] = await receiver.wait_for(1)
    assert held.webhook_id == event_id
    first.kill()
    first.wait()
    receiver.release.set()
    [delivery] = await deliveries_of(wctx, hook["id"])
    assert delivery.status == "pending" and delivery.attempts == 1  # claimed, never recorded

    spawn(lease=2, timeout=1)  # the restarted worker takes over once the dead one's lease has run out
    requests = await receiver.wait_for(2, timeout=30)
    for _ in range(200):
        [delivery] = await deliveries_of(wctx, hook["id"])
        if delivery.status == "delivered":
            break
        await asyncio.sleep(0.05)
    assert delivery.status == "delivered"
    assert [r.webhook_id for r in requests] == [event_id, event_id]  # at least once, same id
    assert signed_by(hook["secret"], requests[1])
    attempts = await attempts_of(wctx, delivery.id)
    assert [(a.number, a.outcome) for a in attempts] == [(1, "abandoned"), (2, "succeeded")]
    assert attempts[0].error == "the worker stopped before this attempt finished"


async def test_two_workers_deliver_1000_events_to_3_subscriptions_none_lost(
    wapi: Api, wctx: AppContext, receiver: Receiver, spawn, is_postgres: bool
) -> None:
    subscriptions = {
        "/all": [],
        "/transactions": ["transaction.*"],
        "/cash-and-kyc": ["cashIn.*", "customer.endorsement.granted"],
    }
    hooks = {path: await create_webhook(wapi, receiver.url + path, filters) for path, filters in subscriptions.items()}
    types = itertools.cycle(
        [
            C2C,
            "transaction.fiatToCrypto.completed",
            "cashIn.completed",
            "customer.endorsement.granted",
            "wallet.depositDetected",
        ]
    )
    emitted: dict[str, str] = {}
    run = uuid.uuid4().hex
    async with wctx.db.session_scope() as session:
        for n in range(1000):
            event_type = next(types)
            event = await events.record(
                session,
                tenant_id=wapi.tenant_id,
                type=event_type,
                object_id=f"obj_{run}_{n}",
                resource={"n": n},
                at=wctx.clock.now(),
            )
            emitted[event.id] = event_type
    expected = {
        "/all": set(emitted),
        "/transactions": {e for e, t in emitted.items() if t.startswith("transaction.")},
        "/cash-and-kyc": {e for e, t in emitted.items() if t in {"cashIn.completed", "customer.endorsement.granted"}},
    }
    total = sum(len(ids) for ids in expected.values())
    assert total == 1000 + 400 + 400

    started = time.monotonic()
    workers = [spawn(), spawn()]
    await receiver.wait_for(total, timeout=120)
    hook_ids = [h["id"] for h in hooks.values()]
    counts = (0, -1)
    for _ in range(600):  # a cheap count: this process also runs the receiver
        async with wctx.db.session_scope(write=False) as session:
            counts = tuple(
                (
                    await session.execute(
                        select(func.count(), func.count().filter(WebhookDelivery.status != "delivered")).where(
                            WebhookDelivery.webhook_id.in_(hook_ids)
                        )
                    )
                ).one()
            )
        if counts == (total, 0):
            break
        await asyncio.sleep(0.1)
    elapsed = time.monotonic() - started
    for worker in workers:
        assert worker.poll() is None, "a worker died"
    assert counts == (total, 0)
    async with wctx.db.session_scope(write=False) as session:
        rows = (
            (await session.execute(select(WebhookDelivery).where(WebhookDelivery.webhook_id.in_(hook_ids))))
            .scalars()
            .all()
        )

    duplicates = 0
    for path, ids in expected.items():
        received = Counter(r.webhook_id for r in receiver.to(path))
        assert set(received) == ids, f"{path}: lost {len(ids - set(received))}, unexpected {len(set(received) - ids)}"
        duplicates += sum(received.values()) - len(received)
    print(f"\n{total} deliveries by 2 workers in {elapsed:.1f} s; duplicates: {duplicates}")

    async with wctx.db.session_scope(write=False) as session:
        attempts = (
            (
                await session.execute(
                    select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_([row.id for row in rows]))
                )
            )
            .scalars()
            .all()
        )
    by_delivery: dict[str, list[WebhookAttempt]] = {}
    for attempt in attempts:
        by_delivery.setdefault(attempt.delivery_id, []).append(attempt)
    assert set(by_delivery) == {row.id for row in rows}
    for tries in by_delivery.values():
        tries.sort(key=lambda a: a.number)
        for earlier, later in itertools.pairwise(tries):
            # never two attempts of one delivery at the same time
            assert earlier.finished_at is not None and earlier.finished_at <= later.started_at
        # a delivery is attempted again only after an attempt failed, never twice at once
        assert all(a.outcome == "failed" for a in tries[:-1]), [(a.outcome, a.error) for a in tries]
        assert tries[-1].outcome == "succeeded"
    if is_postgres:
        # SKIP LOCKED claims: the two workers never took the same delivery, so nothing was sent twice
        # unless an attempt failed (the receiver answered too late) and was retried.
        retried = sum(len(tries) - 1 for tries in by_delivery.values())
        assert duplicates <= retried
