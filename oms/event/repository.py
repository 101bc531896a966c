"""The event log's SQL (``oms.event.service`` appends events through the session)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.event.compliance import tenant_visible
from oms.kit.ids import is_valid_id
from oms.models import Event


async def get(session: AsyncSession, tenant_id: str, event_id: str) -> Event | None:
    if not is_valid_id(event_id, "evt"):
        return None
    statement = select(Event).where(Event.id == event_id, Event.tenant_id == tenant_id, tenant_visible(Event.type))
    return (await session.execute(statement)).scalar_one_or_none()


def list_statement(tenant_id: str, *, type: str | None, object_id: str | None) -> Select[Any]:
    """A tenant's events, without the compliance-only ones (no tipping off)."""
    statement = select(Event).where(Event.tenant_id == tenant_id, tenant_visible(Event.type))
    if type is not None:
        if type.endswith(".*"):
            prefix = type[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            statement = statement.where(Event.type.like(prefix + "%", escape="\\"))
        else:
            statement = statement.where(Event.type == type)
    if object_id is not None:
        statement = statement.where(Event.object_id == object_id)
    return statement


async def latest_sequence(session: AsyncSession, object_id: str) -> int | None:
    """The sequence of the object's latest event (None before its first)."""
    latest: int | None = await session.scalar(select(func.max(Event.sequence)).where(Event.object_id == object_id))
    return latest
