"""All SQL for webhook subscriptions, deliveries and attempts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from oms.kit.ids import is_valid_id
from oms.kit.sql import is_postgres
from oms.models import Event, Webhook, WebhookAttempt, WebhookDelivery

# --- subscriptions ----------------------------------------------------------------------------------


async def get(session: AsyncSession, tenant_id: str, webhook_id: str, *, for_update: bool = False) -> Webhook | None:
    if not is_valid_id(webhook_id, "whk"):
        return None
    statement = select(Webhook).where(
        Webhook.id == webhook_id, Webhook.tenant_id == tenant_id, Webhook.deleted_at.is_(None)
    )
    if for_update:
        statement = statement.with_for_update(key_share=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def get_any_tenant(session: AsyncSession, webhook_id: str) -> Webhook | None:
    """An operator's lookup (the admin API): any tenant's subscription, locked for a change."""
    if not is_valid_id(webhook_id, "whk"):
        return None
    statement = select(Webhook).where(Webhook.id == webhook_id, Webhook.deleted_at.is_(None))
    return (await session.execute(statement.with_for_update(key_share=True))).scalar_one_or_none()


def list_statement(tenant_id: str) -> Select[Any]:
    return select(Webhook).where(Webhook.tenant_id == tenant_id, Webhook.deleted_at.is_(None))


async def active_for_tenants(session: AsyncSession, tenant_ids: Sequence[str]) -> dict[str, list[Webhook]]:
    found: dict[str, list[Webhook]] = defaultdict(list)
    if tenant_ids:
        rows = await session.execute(
            select(Webhook).where(
                Webhook.tenant_id.in_(tenant_ids), Webhook.enabled.is_(True), Webhook.deleted_at.is_(None)
            )
        )
        for webhook in rows.scalars():
            found[webhook.tenant_id].append(webhook)
    return found


async def disable(session: AsyncSession, webhook_id: str, *, reason: str, now: datetime) -> None:
    await session.execute(
        update(Webhook)
        .where(Webhook.id == webhook_id, Webhook.enabled.is_(True))
        .values(enabled=False, disabled_reason=reason, updated_at=now)
    )


# --- the outbox fan-out -----------------------------------------------------------------------------


def any_undispatched() -> Select[tuple[bool]]:
    return select(exists().where(Event.dispatched_at.is_(None)))


async def undispatched_events(session: AsyncSession, limit: int) -> list[Event]:
    """The oldest events not yet fanned out; claimed so parallel workers never share one."""
    statement = select(Event).where(Event.dispatched_at.is_(None)).order_by(Event.created_at).limit(limit)
    if is_postgres(session):
        statement = statement.with_for_update(key_share=True, skip_locked=True)
    return list((await session.execute(statement)).scalars())


async def mark_dispatched(session: AsyncSession, event_ids: Sequence[str], now: datetime) -> None:
    await session.execute(update(Event).where(Event.id.in_(event_ids)).values(dispatched_at=now))


async def insert_deliveries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(WebhookDelivery), rows)


# --- deliveries -------------------------------------------------------------------------------------


async def get_delivery(
    session: AsyncSession, webhook_id: str, delivery_id: str, *, for_update: bool = False
) -> WebhookDelivery | None:
    if not is_valid_id(delivery_id, "dlv"):
        return None
    statement = select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.webhook_id == webhook_id
    )
    if for_update:
        statement = statement.with_for_update(key_share=True)
    return (await session.execute(statement)).scalar_one_or_none()


def deliveries_statement(webhook_id: str, *, status: str | None, event_id: str | None) -> Select[Any]:
    statement = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    if status is not None:
        statement = statement.where(WebhookDelivery.status == status)
    if event_id is not None:
        statement = statement.where(WebhookDelivery.event_id == event_id)
    return statement


async def attempts_of(session: AsyncSession, delivery_ids: Sequence[str]) -> dict[str, list[WebhookAttempt]]:
    found: dict[str, list[WebhookAttempt]] = defaultdict(list)
    if delivery_ids:
        rows = await session.execute(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(delivery_ids))
            .order_by(WebhookAttempt.delivery_id, WebhookAttempt.number)
        )
        for attempt in rows.scalars():
            found[attempt.delivery_id].append(attempt)
    return found


async def cancel_pending(session: AsyncSession, webhook_id: str, now: datetime) -> None:
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status == "pending")
        .values(status="failed", failed_at=now, next_attempt_at=None, lease_token=None, updated_at=now)
    )


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Pending, its time come, of an enabled subscription (joined on ``Webhook``)."""
    return WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now, Webhook.enabled.is_(True)


def any_due(now: datetime) -> Select[tuple[bool]]:
    return select(exists().where(WebhookDelivery.webhook_id == Webhook.id, *_due(now)))


async def due_deliveries(
    session: AsyncSession, now: datetime, limit: int, *, exclude_webhooks: set[str] | None = None
) -> list[tuple[WebhookDelivery, Webhook]]:
    """Pending deliveries whose time has come, with their (enabled) subscriptions; row-locked and
    skipped by other workers on PostgreSQL (SQLite serialises writers with BEGIN IMMEDIATE)."""
    statement = (
        select(WebhookDelivery, Webhook)
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(*_due(now))
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    )
    if exclude_webhooks:
        statement = statement.where(WebhookDelivery.webhook_id.not_in(sorted(exclude_webhooks)))
    if is_postgres(session):
        statement = statement.with_for_update(key_share=True, skip_locked=True, of=WebhookDelivery)
    return [(delivery, webhook) for delivery, webhook in await session.execute(statement)]


async def abandon_in_flight(session: AsyncSession, delivery_ids: Sequence[str], now: datetime) -> None:
    """Attempts of a worker that stopped before finishing them (their lease ran out)."""
    await session.execute(
        update(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(delivery_ids), WebhookAttempt.outcome == "in_flight")
        .values(outcome="abandoned", finished_at=now, error="the worker stopped before this attempt finished")
    )


async def abandon_attempts(session: AsyncSession, attempt_ids: Sequence[int], now: datetime, *, reason: str) -> None:
    await session.execute(
        update(WebhookAttempt)
        .where(WebhookAttempt.id.in_(attempt_ids), WebhookAttempt.outcome == "in_flight")
        .values(outcome="abandoned", finished_at=now, error=reason)
    )


async def event_envelopes(session: AsyncSession, event_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    if not event_ids:
        return {}
    rows = await session.execute(select(Event.id, Event.data).where(Event.id.in_(set(event_ids))))
    return {event_id: data for event_id, data in rows.all()}


async def finish_attempts(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Complete attempts by id (``b_id``), in one batched statement."""
    if rows:
        table = WebhookAttempt.__table__
        columns = [name for name in rows[0] if name != "b_id"]
        statement = table.update().where(table.c.id == bindparam("b_id")).values({c: bindparam(c) for c in columns})
        await session.execute(statement, rows)


async def finish_deliveries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Write outcomes by delivery id (``b_id``) where the lease (``b_lease``) is still the writer's: a
    worker whose lease ran out and was taken over changes nothing."""
    if rows:
        table = WebhookDelivery.__table__
        columns = [name for name in rows[0] if not name.startswith("b_")]
        statement = (
            table.update()
            .where(table.c.id == bindparam("b_id"), table.c.lease_token == bindparam("b_lease"))
            .values({"lease_token": None, **{c: bindparam(c) for c in columns}})
        )
        await session.execute(statement, rows)


async def delivered_since(
    session: AsyncSession, tenant_id: str, since: datetime, *, limit: int = 5000
) -> list[tuple[datetime, datetime]]:
    """(created, delivered) of a tenant's deliveries made since ``since`` and delivered, at most ``limit`` of the
    newest: the console's picture of webhook lag (an event's wait from its delivery's creation to its success)."""
    statement = (
        select(WebhookDelivery.created_at, WebhookDelivery.delivered_at)
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(
            Webhook.tenant_id == tenant_id,
            WebhookDelivery.created_at >= since,
            WebhookDelivery.delivered_at.is_not(None),
        )
        .order_by(WebhookDelivery.created_at.desc())
        .limit(limit)
    )
    return [(created, delivered) for created, delivered in await session.execute(statement) if delivered]
