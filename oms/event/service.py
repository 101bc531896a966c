"""The transactional outbox: events are written in the same transaction as the change they describe."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from oms.errors import NotFound
from oms.event import repository, schemas
from oms.kit.ids import new_id
from oms.kit.pagination import PageParams, paginate
from oms.kit.time import isoformat
from oms.models import Event


async def next_sequence(session: AsyncSession, object_id: str) -> int:
    """One more than the object's latest event (for objects that keep no version of their own)."""
    return (await repository.latest_sequence(session, object_id) or 0) + 1


async def record(
    session: AsyncSession,
    *,
    tenant_id: str,
    type: str,
    object_id: str,
    resource: Mapping[str, Any],
    at: datetime,
    sequence: int | None = None,
) -> Event:
    """Append an event. ``sequence`` orders the changes of one object: pass the object's version when it
    keeps one (no extra query); otherwise it is one more than the object's previous event."""
    derived = sequence is None
    if sequence is None:
        sequence = await next_sequence(session, object_id)
    event = new_event(tenant_id=tenant_id, type=type, object_id=object_id, resource=resource, at=at, sequence=sequence)
    session.add(event)
    if derived:  # the next derived sequence of this object must see this one
        await session.flush()
    # Otherwise the commit's flush writes it, batched with the transaction's other events.
    return event


def new_event(
    *, tenant_id: str, type: str, object_id: str, resource: Mapping[str, Any], at: datetime, sequence: int
) -> Event:
    """The event row (not yet written) for one change of an object."""
    event_id = new_id("evt")
    envelope: schemas.Event = {
        "id": event_id,
        "object": "event",
        "type": type,
        "createdAt": isoformat(at),
        "sequence": sequence,
        "data": {"object": resource},
    }
    return Event(
        id=event_id,
        tenant_id=tenant_id,
        type=type,
        object_id=object_id,
        sequence=sequence,
        data=envelope,
        created_at=at,
    )


# --- reading the log (GET /events) ------------------------------------------------------------------


async def list_events(
    session: AsyncSession, tenant_id: str, page: PageParams, *, type: str | None, object_id: str | None
) -> schemas.EventList:
    statement = repository.list_statement(tenant_id, type=type, object_id=object_id)
    result = await paginate(session, statement, Event, page, scope=Event.tenant_id == tenant_id)
    return result.listed([envelope(event.data) for event in result.items])


async def get_event(session: AsyncSession, tenant_id: str, event_id: str) -> schemas.Event:
    event = await repository.get(session, tenant_id, event_id)
    if event is None:
        raise NotFound.resource("event", event_id)
    return envelope(event.data)


ENVELOPE_ORDER = ("id", "object", "type", "createdAt", "sequence", "data")


def envelope(stored: dict[str, Any]) -> schemas.Event:
    """A stored envelope in its documented key order (PostgreSQL's JSONB keeps keys in its own order)."""
    ordered = {key: stored[key] for key in ENVELOPE_ORDER if key in stored}
    return cast(schemas.Event, {**ordered, **stored})  # the JSON document new_event() stored
