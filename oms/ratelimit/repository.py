"""All SQL of the lockouts (``auth_lockouts``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.kit.sql import insert_ignore
from oms.models import LockoutRecord


async def standing(session: AsyncSession, subjects: Sequence[str]) -> dict[str, datetime | None]:
    """Of these subjects, those with failures on record: when each one's lockout ends (None: never locked)."""
    statement = select(LockoutRecord.subject, LockoutRecord.locked_until).where(LockoutRecord.subject.in_(subjects))
    return {subject: until for subject, until in (await session.execute(statement)).all()}


async def for_update(session: AsyncSession, subject: str, kind: str, now: datetime) -> LockoutRecord:
    """The subject's record, created if it has none, locked until the transaction ends (concurrent failures of
    one subject count one after the other)."""
    values = {"subject": subject, "kind": kind, "failures": 0, "level": 0, "locked_until": None, "last_failure_at": now}
    await session.execute(insert_ignore(session, LockoutRecord).values(**values))
    statement = select(LockoutRecord).where(LockoutRecord.subject == subject).with_for_update()
    return (await session.execute(statement.execution_options(populate_existing=True))).scalar_one()


async def clear(session: AsyncSession, subjects: Sequence[str]) -> None:
    await session.execute(delete(LockoutRecord).where(LockoutRecord.subject.in_(subjects)))


async def forget_before(session: AsyncSession, moment: datetime, now: datetime) -> None:
    """Records without a failure since ``moment`` and not locked out now: their subjects start afresh."""
    await session.execute(
        delete(LockoutRecord).where(
            LockoutRecord.last_failure_at < moment,
            or_(LockoutRecord.locked_until.is_(None), LockoutRecord.locked_until <= now),
        )
    )
