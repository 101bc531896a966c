"""From the outbox to the receiver: fan-out, claims, attempts and the retry schedule.

1. **Fan-out** (one transaction): the oldest events with ``dispatched_at IS NULL`` (row-locked with
   ``SKIP LOCKED`` on PostgreSQL) become one ``webhook_deliveries`` row per matching enabled
   subscription, and are marked dispatched in the same commit — an event is fanned out exactly once,
   and a crash before the commit leaves it to the next run.
2. **Claim** (one short transaction): due pending deliveries of enabled subscriptions (``SKIP LOCKED``)
   get ``attempts + 1``, a fresh lease token, an ``in_flight`` attempt row, and ``next_attempt_at`` moved
   to the end of the lease. No transaction or connection is held during the HTTP request.
3. **Send** (no database): sign with every secret in use, POST with a timeout, no redirects.
4. **Record** (one transaction): the attempt's outcome; the delivery becomes ``delivered``, ``failed``
   (410, or the retry window is over) or is rescheduled with exponential backoff and jitter — written
   only if the lease is still ours. A worker that dies after claiming leaves the lease to run out: the
   delivery is due again, its attempt is recorded as ``abandoned``, and it is sent again (at least once).
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.db import Database
from oms.event import service as events
from oms.kit.logging import loggable_path
from oms.kit.time import Clock
from oms.models import Event, Webhook, WebhookAttempt
from oms.webhook import repository, signing
from oms.webhook.catalogue import matches
from oms.webhook.sender import EXCERPT_BYTES, SendResult, WebhookSender
from oms.webhook.service import WebhookService

log = logging.getLogger(__name__)
SHUTDOWN = "the worker shut down before this attempt finished"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with "equal jitter": the n-th retry waits between half and all of
    ``min(cap, base * 2**(n-1))``."""

    base: timedelta
    cap: timedelta
    rng: random.Random

    def delay(self, attempts: int) -> timedelta:
        ceiling = min(self.cap.total_seconds(), self.base.total_seconds() * 2 ** min(attempts - 1, 32))
        return timedelta(seconds=ceiling / 2 + self.rng.uniform(0, ceiling / 2))


@dataclass(frozen=True)
class Claimed:
    delivery_id: str
    attempt_id: int
    number: int
    lease_token: str
    webhook_id: str
    url: str
    secrets: tuple[str, ...] = field(repr=False)  # signing secrets: never in a log line or a traceback
    event_id: str
    payload: bytes
    retry_until: datetime


class Dispatcher:
    def __init__(
        self,
        *,
        clock: Clock,
        webhooks: WebhookService,
        sender: WebhookSender,
        retry: RetryPolicy,
        lease: timedelta,
        fan_out_batch: int = 500,
    ) -> None:
        self.clock = clock
        self._webhooks = webhooks
        self.sender = sender
        self.retry = retry
        self.lease = lease
        self._fan_out_batch = fan_out_batch

    async def fan_out(self, session: AsyncSession) -> int:
        """Turn undispatched events into deliveries; returns how many events were handled."""
        found = await repository.undispatched_events(session, self._fan_out_batch)
        if not found:
            return 0
        now = self.clock.now()
        subscribers = await repository.active_for_tenants(session, sorted({e.tenant_id for e in found}))
        rows = [
            self._webhooks.delivery_row(webhook, event.id, event.type, now)
            for event in found
            for webhook in subscribers.get(event.tenant_id, ())
            if _subscribed(webhook, event)
        ]
        await repository.insert_deliveries(session, rows)
        await repository.mark_dispatched(session, [e.id for e in found], now)
        return len(found)

    async def claim(
        self, session: AsyncSession, limit: int, *, room: dict[str, int] | None = None, per_endpoint: int = 0
    ) -> list[Claimed]:
        """Lease up to ``limit`` due deliveries. ``room``: in-flight count per webhook in this process;
        an endpoint already at ``per_endpoint`` is skipped so one slow receiver cannot take every slot."""
        now = self.clock.now()
        busy = {w for w, n in (room or {}).items() if per_endpoint and n >= per_endpoint}
        due = await repository.due_deliveries(session, now, limit, exclude_webhooks=busy)
        if per_endpoint:
            taken: Counter[str] = Counter(room or {})
            chosen = []
            for delivery, webhook in due:
                if taken[webhook.id] < per_endpoint:
                    taken[webhook.id] += 1
                    chosen.append((delivery, webhook))
            due = chosen
        if not due:
            return []
        retried = [d.id for d, _ in due if d.attempts > 0]
        if retried:
            await repository.abandon_in_flight(session, retried, now)
        envelopes = await repository.event_envelopes(session, [d.event_id for d, _ in due])
        attempts = []
        for delivery, _ in due:
            delivery.attempts += 1
            delivery.lease_token = secrets.token_hex(16)
            delivery.next_attempt_at = now + self.lease
            delivery.updated_at = now
            attempts.append(
                WebhookAttempt(delivery_id=delivery.id, number=delivery.attempts, outcome="in_flight", started_at=now)
            )
        session.add_all(attempts)
        await session.flush()
        parts = _Parts(envelopes, lambda webhook: tuple(self._webhooks.secrets_in_use(webhook, now)))
        claimed, unsendable = [], []
        for (delivery, webhook), attempt in zip(due, attempts, strict=True):
            item = Claimed(
                delivery_id=delivery.id,
                attempt_id=attempt.id,
                number=attempt.number,
                lease_token=delivery.lease_token or "",
                webhook_id=webhook.id,
                url=webhook.url,
                secrets=(),
                event_id=delivery.event_id,
                payload=b"",
                retry_until=delivery.retry_until,
            )
            problem = parts.problem(delivery.event_id, webhook)
            if problem is None:
                payload = parts.payloads[delivery.event_id]
                claimed.append(replace(item, secrets=parts.secrets[webhook.id], payload=payload))
            else:
                unsendable.append((item, SendResult(None, 0, None, f"not sent: {problem}")))
        if unsendable:  # recorded at once, as failed attempts on the usual backoff: the others still go out
            await self.record(session, unsendable)
        return claimed

    async def send(self, claimed: Claimed) -> SendResult:
        """Sign and send; a failure of ours (not the receiver's) is a failed attempt too, so that it is recorded
        and retried on the schedule instead of leaving the delivery to its lease."""
        try:
            body = claimed.payload.decode()
            headers = signing.headers(claimed.secrets, claimed.event_id, self.clock.now(), body)
            result = await self.sender.send(claimed.url, headers, claimed.payload)
        except Exception as exc:
            log.error(
                "webhook delivery not sent: it failed before reaching the receiver",
                extra={"delivery": claimed.delivery_id, "webhook": claimed.webhook_id, "error": type(exc).__name__},
            )
            return SendResult(None, 0, None, f"not sent: an internal error ({type(exc).__name__})")
        _log_attempt(claimed, result)
        return result

    async def record(self, session: AsyncSession, outcomes: Sequence[tuple[Claimed, SendResult]]) -> None:
        """Write the attempts and each delivery's next state: ``delivered``; ``failed`` on 410 or once the
        retry window is over; else ``pending`` again with a backoff. A delivery is only changed by the
        holder of its current lease; attempts are always written."""
        now = self.clock.now()
        attempts, deliveries, gone = [], [], set()
        for claimed, result in outcomes:
            attempts.append(
                {
                    "b_id": claimed.attempt_id,
                    "outcome": "succeeded" if result.delivered else "failed",
                    "finished_at": now,
                    "status_code": result.status_code,
                    "latency_ms": result.latency_ms,
                    "response_excerpt": None if result.excerpt is None else result.excerpt[:EXCERPT_BYTES],
                    "error": None if not result.error else result.error[:500],
                }
            )
            state: dict[str, object] = {"delivered_at": None, "failed_at": None, "next_attempt_at": None}
            if result.delivered:
                state.update(status="delivered", delivered_at=now)
            elif result.status_code == 410 or now >= claimed.retry_until:
                state.update(status="failed", failed_at=now)
                if result.status_code == 410:
                    gone.add(claimed.webhook_id)
            else:
                retry_at = min(now + self.retry.delay(claimed.number), claimed.retry_until)
                state.update(status="pending", next_attempt_at=retry_at)
            deliveries.append({"b_id": claimed.delivery_id, "b_lease": claimed.lease_token, "updated_at": now, **state})
        await repository.finish_attempts(session, attempts)
        await repository.finish_deliveries(session, deliveries)
        for webhook_id in sorted(gone):
            await repository.disable(session, webhook_id, reason="endpoint_gone", now=now)

    async def release(self, session: AsyncSession, claimed: Sequence[Claimed]) -> None:
        """Give back leases of attempts this worker will not finish (shutdown): due again now."""
        now = self.clock.now()
        await repository.abandon_attempts(session, [c.attempt_id for c in claimed], now, reason=SHUTDOWN)
        await repository.finish_deliveries(
            session, [{"b_id": c.delivery_id, "b_lease": c.lease_token, "next_attempt_at": now} for c in claimed]
        )


def _log_attempt(claimed: Claimed, result: SendResult) -> None:
    """One line per attempt: where it went (host, and the path without what may be a token: loggable_path),
    what came back. Never the signing secrets, the headers or the payload."""
    url = urlsplit(claimed.url)
    extra = {
        "webhook": claimed.webhook_id,
        "delivery": claimed.delivery_id,
        "event": claimed.event_id,
        "attempt": claimed.number,
        "host": url.netloc.rpartition("@")[2],
        "urlPath": loggable_path(claimed.url),
        "status": result.status_code,
        "latencyMs": result.latency_ms,
    }
    if result.error:
        extra["error"] = result.error
    log.log(logging.INFO if result.delivered else logging.WARNING, "webhook attempt", extra=extra)


def payload_of(stored: dict[str, Any]) -> bytes:
    return orjson.dumps(events.envelope(stored))


def _subscribed(webhook: Webhook, event: Event) -> bool:
    """Whether ``webhook`` receives ``event``. A subscription whose stored filter cannot be read (a poison row)
    receives nothing and is logged; the event still reaches every other subscription."""
    try:
        return webhook.created_at <= event.created_at and matches(
            webhook.events, event.type, compliance_only=webhook.compliance_only
        )
    except Exception as exc:
        log.error(
            "webhook subscription unreadable: event not fanned out to it",
            extra={"webhook": webhook.id, "event": event.id, "error": type(exc).__name__},
        )
        return False


class _Parts:
    """What a claimed batch's deliveries are made of, each made once and on its own: the payload per event and
    the signing secrets per subscription. One that cannot be made (a poison row: an event that cannot be
    rendered, a secret that cannot be opened) fails only the deliveries that need it, and is logged."""

    def __init__(
        self, envelopes: dict[str, dict[str, Any]], open_secrets: Callable[[Webhook], tuple[str, ...]]
    ) -> None:
        self._envelopes = envelopes
        self._open_secrets = open_secrets
        self.payloads: dict[str, bytes] = {}
        self.secrets: dict[str, tuple[str, ...]] = {}
        self._problems: dict[str, str | None] = {}  # by part, once made (None: made fine)

    def problem(self, event_id: str, webhook: Webhook) -> str | None:
        """Why this delivery cannot be sent (for its attempt record, which the tenant sees), or None."""
        return self._once(event_id, lambda: self._payload(event_id), "the event could not be rendered") or self._once(
            webhook.id, lambda: self._secrets(webhook), "the signing secret could not be opened"
        )

    def _payload(self, event_id: str) -> None:
        self.payloads[event_id] = payload_of(self._envelopes[event_id])

    def _secrets(self, webhook: Webhook) -> None:
        self.secrets[webhook.id] = self._open_secrets(webhook)

    def _once(self, part: str, make: Callable[[], None], unusable: str) -> str | None:
        if part not in self._problems:
            try:
                make()
                self._problems[part] = None
            except Exception as exc:
                # The error's class only: its message may quote the data (a secret, a customer's details).
                extra = {"part": part, "error": type(exc).__name__}
                log.error("webhook delivery not sent: a part of it is unusable", extra=extra)
                self._problems[part] = unusable
        return self._problems[part]


RECORD_BATCH = 500


class DeliveryWorker:
    """The delivery loop of one process: keeps up to ``capacity`` attempts in flight, each recorded as
    soon as it ends, so a slow receiver never holds up the others. Outcomes that end while a write is
    under way are recorded together in the next transaction (group commit): one write per batch, not
    per attempt, which keeps SQLite's single writer and PostgreSQL's pool out of the way."""

    def __init__(
        self, db: Database, dispatcher: Dispatcher, *, capacity: int, per_endpoint: int, idle_wait: float = 0.05
    ) -> None:
        self._db = db
        self.idle_wait = idle_wait
        self.dispatcher = dispatcher
        self.capacity = capacity
        self.per_endpoint = per_endpoint
        self._in_flight: set[asyncio.Task[None]] = set()
        self._by_webhook: Counter[str] = Counter()
        self._outcomes: list[tuple[Claimed, SendResult, asyncio.Future[None]]] = []
        self._recorder: asyncio.Task[None] | None = None
        # Claimed here and not recorded yet, by attempt id: released on close.
        self._unrecorded: dict[int, Claimed] = {}

    async def run(self) -> int:
        """One round: fan out new events, then claim and start due deliveries. Returns work done."""
        done = 0
        if await self._probe(repository.any_undispatched()):
            async with self._db.session_scope() as session:
                done += await self.dispatcher.fan_out(session)
        free = self.capacity - len(self._in_flight)
        if free > 0 and await self._probe(repository.any_due(self.dispatcher.clock.now())):
            async with self._db.session_scope() as session:
                claimed = await self.dispatcher.claim(
                    session, free, room=dict(self._by_webhook), per_endpoint=self.per_endpoint
                )
            for item in claimed:
                self._by_webhook[item.webhook_id] += 1
                self._unrecorded[item.attempt_id] = item
                task = asyncio.create_task(self._deliver(item))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
            done += len(claimed)
        if not done and self._in_flight:
            # Nothing to start now (slots full, or only busy endpoints due): resume as soon as an attempt
            # ends rather than after a whole poll interval.
            finished, _ = await asyncio.wait(
                set(self._in_flight), timeout=self.idle_wait, return_when=asyncio.FIRST_COMPLETED
            )
            return len(finished)
        return done

    async def drain(self) -> None:
        """Wait for every attempt in flight to be recorded (tests, shutdown)."""
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)

    async def deliver_all(self, *, rounds: int = 1000) -> int:
        """Fan out and deliver until nothing is due now (tests and one-shot commands)."""
        total = 0
        for _ in range(rounds):
            done = await self.run()
            await self.drain()
            total += done
            if not done:
                break
        return total

    async def close(self, *, grace: float = 5.0) -> None:
        """Stop: attempts in flight get ``grace`` seconds to finish and be recorded; the rest are
        cancelled, recorded as abandoned and made due again at once (if that write fails too, their
        leases run out and they are retried all the same). An attempt whose answer is already in hand
        is recorded (within another ``grace``), not given back: giving it back would send it again."""
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=grace)
        for task in list(self._in_flight):
            task.cancel()
        await asyncio.gather(*list(self._in_flight), return_exceptions=True)
        if self._recorder is not None:
            await asyncio.wait({self._recorder}, timeout=grace)
            self._recorder.cancel()
            await asyncio.gather(self._recorder, return_exceptions=True)
        if self._unrecorded:
            try:
                async with self._db.session_scope() as session:
                    await self.dispatcher.release(session, list(self._unrecorded.values()))
            except Exception:
                log.exception("webhook leases not released; they will run out")
            self._unrecorded.clear()
        await self.dispatcher.sender.close()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def _deliver(self, claimed: Claimed) -> None:
        try:
            result = await self.dispatcher.send(claimed)
            done = asyncio.get_running_loop().create_future()
            self._outcomes.append((claimed, result, done))
            if self._recorder is None or self._recorder.done():
                self._recorder = asyncio.create_task(self._record_outcomes())
            await done
        except asyncio.CancelledError:
            raise
        except Exception:
            # The lease runs out and the delivery is attempted again: nothing is lost.
            log.exception("webhook attempt not recorded", extra={"delivery": claimed.delivery_id})
        finally:
            self._by_webhook[claimed.webhook_id] -= 1
            if self._by_webhook[claimed.webhook_id] <= 0:
                del self._by_webhook[claimed.webhook_id]

    async def _record_outcomes(self) -> None:
        while self._outcomes:
            batch, self._outcomes = self._outcomes[:RECORD_BATCH], self._outcomes[RECORD_BATCH:]
            try:
                async with self._db.session_scope() as session:
                    await self.dispatcher.record(session, [(claimed, result) for claimed, result, _ in batch])
            except Exception:
                log.exception("webhook outcomes not recorded together; recording them one by one")
                await self._record_one_by_one(batch)
                continue
            for claimed, _, done in batch:
                self._recorded(claimed, done)

    async def _record_one_by_one(self, batch: list[tuple[Claimed, SendResult, asyncio.Future[None]]]) -> None:
        for claimed, result, done in batch:
            try:
                async with self._db.session_scope() as session:
                    await self.dispatcher.record(session, [(claimed, result)])
            except Exception as exc:
                if not done.done():
                    done.set_exception(exc)
            else:
                self._recorded(claimed, done)

    def _recorded(self, claimed: Claimed, done: asyncio.Future[None]) -> None:
        self._unrecorded.pop(claimed.attempt_id, None)
        if not done.done():
            done.set_result(None)

    async def _probe(self, statement: Select[tuple[bool]]) -> bool:
        """A cheap read first, so an idle worker never takes SQLite's write lock."""
        async with self._db.session(write=False) as session:
            return bool(await session.scalar(statement))
